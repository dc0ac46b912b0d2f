using ActorRuntime.Events;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Runtime;

/// <summary>
/// Whether an exit was published is known from the process record, not only from the bus's memory: the bus here forgets
/// a finished run within a fraction of a second even while its record lives (as it would a week later, or after a
/// release lost in a crash), and a restart after that publishes no exit a second time — of an exec that exited and was
/// not deleted, nor of a record whose dead-shim cleanup the bus confirmed only after the cleanup had given up waiting.
/// Deliveries are counted as the subscriber received them, across both runtime generations.
/// </summary>
public sealed class ExitPublishedSpec(ITestOutputHelper output) : RuntimeSpecBase(output, GatedJournal.Hocon + """

    actor-runtime.event-bus {
      retain-finished-runs-for = 100ms
      hold-unreleased-runs-for = 100ms
      prune-interval = 50ms
    }
    """)
{
    private const string ProcessSpec = """{"args":["sh"],"cwd":"/"}""";

    private IActorRef Journal => GatedJournal.Of(Sys);

    [Fact]
    public async Task A_waited_exit_reaches_the_process_record_in_one_write_that_says_the_bus_has_it()
    {
        await RunAsync("c1");
        var processes = "tasks-" + Settings.Namespace;
        var before = (await Journal.Ask<GatedJournal.Held>(new GatedJournal.GetWritten(processes), Bound)).Payloads.Count;
        await Launcher["c1"].ExitAsync("c1", 3);
        await Runtime.WaitAsync("c1").WaitAsync(Bound);
        await EventuallyAsync(async () => (await RecordsAsync()).Any(r => r is { ContainerId: "c1", ExitPublished: true }),
            "the record to say its exit is published", Bound);
        await QuietAsync();

        var written = (await Journal.Ask<GatedJournal.Held>(new GatedJournal.GetWritten(processes), Bound)).Payloads.Skip(before);
        var record = Assert.IsType<ProcessStoreEvent.ProcessRecorded>(Assert.Single(written)).Process;
        Assert.Equal((true, 3u, true), (record.HasExited, record.ExitStatus, record.ExitPublished));
        Assert.Single(EventsOf("c1", Topics.Exit));
    }

    [Fact]
    public async Task An_exec_that_exited_and_was_not_deleted_has_its_exit_delivered_once_after_a_restart_past_the_bus_s_memory()
    {
        await RunAsync("c1");
        await Runtime.ExecAsync("c1", "e1", ProcessSpec);
        var pid = await Runtime.StartExecAsync("c1", "e1");
        await Launcher["c1"].ExitAsync("c1", 3, "e1");
        await Runtime.WaitExecAsync("c1", "e1").WaitAsync(Bound);
        await EventuallyAsync(async () => (await RecordsAsync()).Any(r => r is { ExecId: "e1", ExitPublished: true }),
            "the exec's record to say its exit is published", Bound);
        // The exec's run is finished and forgotten by the bus: only the init's run is still tracked.
        await EventuallyAsync(async () => (await BusStatsAsync()).TrackedRuns == 1, "the bus to forget the exec's run", Bound);

        await StopRuntimeAsync();
        await StartRuntimeAsync();
        await Runtime.AwaitLoadedAsync().WaitAsync(Bound);
        // Re-attached, the exec is still known, as exited with its real status.
        var state = await Runtime.ExecStateAsync("c1", "e1");
        Assert.Equal((ProcessStatus.Stopped, 3u), (state.Status, state.ExitStatus));
        await QuietAsync();

        var exit = Assert.Single(EventsOf("c1", Topics.Exit, "e1"));
        Assert.Equal((pid, 3u), (exit.Pid, exit.ExitStatus));
        Assert.Empty(EventsOf("c1", Topics.Exit));
    }

    [Fact]
    public async Task A_cleanup_the_bus_confirms_late_is_settled_then_and_not_published_again_after_a_restart_past_the_bus_s_memory()
    {
        await RunAsync("c1");
        await Journal.Ask<GatedJournal.Done>(new GatedJournal.Hold(BusId), Bound);
        await Launcher["c1"].KillAsync();
        // The cleanup gives up waiting for the writes (its cleanup timeout): the record stays.
        await ExpectCleanedAsync("c1");
        Assert.Contains(await RecordsAsync(), r => r.ContainerId == "c1");

        // The bus writes late; its confirmation still settles the record.
        await Journal.Ask<GatedJournal.Done>(new GatedJournal.Release(), Bound);
        await EventuallyAsync(async () => (await RecordsAsync()).All(r => r.ContainerId != "c1"), "the record to be settled", Bound);
        await EventuallyAsync(async () => (await BusStatsAsync()).TrackedRuns == 0, "the bus to forget the run", Bound);

        await StopRuntimeAsync();
        await StartRuntimeAsync();
        await Runtime.AwaitLoadedAsync().WaitAsync(Bound);
        await QuietAsync();
        Assert.Single(EventsOf("c1", Topics.Exit));
        Assert.Single(EventsOf("c1", Topics.Delete));
    }

    [Fact]
    public async Task A_record_whose_exit_was_written_owes_only_its_delete_and_the_delete_repeats_the_exit_s_status()
    {
        // The init's exit is written and recorded as published; the delete's write is lost with the runtime.
        await RunAsync("c1");
        await Launcher["c1"].ExitAsync("c1", 3);
        await Runtime.WaitAsync("c1").WaitAsync(Bound);
        await EventuallyAsync(async () => (await RecordsAsync()).Any(r => r is { ContainerId: "c1", ExitPublished: true }),
            "the record to say its exit is published", Bound);
        await StopRuntimeAsync();
        // While the runtime is down the shim dies and the bundle goes; the bus forgets nothing of an undeleted init, so
        // the restart's bus would drop a second exit: count what the door offers instead, through the exit stats.
        await Launcher["c1"].KillAsync();
        Directory.Delete(BundlePath("c1"), recursive: true);
        await StartRuntimeAsync();
        await Runtime.AwaitLoadedAsync().WaitAsync(Bound);
        await EventuallyAsync(async () => (await RecordsAsync()).All(r => r.ContainerId != "c1"), "the record to be settled", Bound);
        await QuietAsync();

        Assert.Single(EventsOf("c1", Topics.Exit));
        var delete = Assert.Single(EventsOf("c1", Topics.Delete));
        Assert.Equal(3u, delete.ExitStatus);
        var stats = await Runtime.ExitStatsAsync();
        // The settled witness entered the delete alone.
        Assert.Equal(1L, stats.Entered);
    }
}
