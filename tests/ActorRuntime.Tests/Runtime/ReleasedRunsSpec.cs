using ActorRuntime.Events;
using Akka.Actor;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Runtime;

/// <summary>
/// The bus keeps a finished run until the process store has forgotten its record (and released it), however long that
/// takes: a runtime that dies after the bus wrote a run's delete but before the record was forgotten settles the record
/// at its next start and offers the exit and delete again, and the bus drops them even though its retention (100 ms
/// here) is long past. Once the record is forgotten the run is released and goes after the retention. Deliveries are
/// counted as the subscriber received them, across both runtime generations.
/// </summary>
public sealed class ReleasedRunsSpec(ITestOutputHelper output) : RuntimeSpecBase(output, GatedJournal.Hocon + """

    actor-runtime.event-bus {
      retain-finished-runs-for = 100ms
      prune-interval = 50ms
    }
    """)
{
    private IActorRef Journal => GatedJournal.Of(Sys);

    [Fact]
    public async Task A_delete_written_before_a_crash_that_kept_its_record_is_not_published_again_by_a_restart_past_the_retention()
    {
        await RunAsync("c1");
        await Launcher["c1"].ExitAsync("c1", 3);
        await Runtime.WaitAsync("c1").WaitAsync(Bound);
        await WaitForEventAsync("c1", Topics.Exit);
        // From here the process store writes nothing: whatever the delete does to the record dies with the runtime.
        await Journal.Ask<GatedJournal.Done>(new GatedJournal.Hold("tasks-" + Settings.Namespace), Bound);
        var deleting = Runtime.DeleteAsync("c1");
        await WaitForEventAsync("c1", Topics.Delete);
        await QuietAsync(); // well past the retention
        var held = await Bus.Ask<EventBusProtocol.RunInfo>(new EventBusProtocol.GetRun(new RunKey(Settings.Namespace, "c1", "")), Bound);
        Assert.True(held.Run is { Deleted: true, ReleasedAt: null }, $"the bus should keep the deleted, unreleased run: {held.Run}");

        await StopRuntimeAsync();
        await Journal.Ask<GatedJournal.Done>(new GatedJournal.Drop(), Bound);
        await Assert.ThrowsAnyAsync<Exception>(() => deleting.WaitAsync(Bound));
        await StartRuntimeAsync();
        await Runtime.AwaitLoadedAsync().WaitAsync(Bound);
        await EventuallyAsync(async () => (await RecordsAsync()).All(r => r.ContainerId != "c1"), "the record to be settled", Bound);
        await QuietAsync();

        Assert.Single(EventsOf("c1", Topics.Exit));
        var delete = Assert.Single(EventsOf("c1", Topics.Delete));
        Assert.Equal(3u, delete.ExitStatus);
        // Released with the record's forgetting, the run is forgotten after the retention.
        await EventuallyAsync(async () => (await BusStatsAsync()).TrackedRuns == 0,
            "the bus to forget the released run", Bound);
    }
}
