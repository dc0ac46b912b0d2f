using ActorRuntime.Events;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Runtime;

/// <summary>
/// A record says an exit is owed until the bus has written it: nothing forgets it, removes the bundle or answers the
/// Delete before the journal confirms the write (a bus slow to write, through <see cref="GatedJournal"/>), and a runtime
/// killed before that write still owes, and publishes, the events after its restart.
/// </summary>
public sealed class DurableExitsSpec(ITestOutputHelper output) : RuntimeSpecBase(output, GatedJournal.Hocon)
{
    private const string ProcessSpec = """{"args":["sh"],"cwd":"/"}""";

    private IActorRef Journal => GatedJournal.Of(Sys);

    [Fact]
    public async Task Delete_keeps_the_record_and_the_bundle_and_answers_only_once_the_delete_event_is_written()
    {
        await ExitedAsync("c1");
        await Journal.Ask<GatedJournal.Done>(new GatedJournal.Hold(BusId), Bound);

        var caller = CreateTestProbe();
        Manager.Tell(InDefault(new TaskProtocol.Delete("c1")), caller);
        await HeldAsync(e => e is { ContainerId: "c1", Topic: Topics.Delete });

        // The delete event is on its way to the journal, not written: still owed, and nobody told otherwise.
        Assert.Contains(await RecordsAsync(), r => r.ContainerId == "c1");
        Assert.True(Directory.Exists(BundlePath("c1")), "bundle removed before the delete event was written");
        Assert.False(caller.HasMessages, "Delete answered before its event was written");

        await Journal.Ask<GatedJournal.Done>(new GatedJournal.Release(), Bound);
        await caller.ExpectMsgAsync<TaskProtocol.Exited>(Bound);
        Assert.DoesNotContain(await RecordsAsync(), r => r.ContainerId == "c1");
        Assert.False(Directory.Exists(BundlePath("c1")));
        await QuietAsync();
        Assert.Single(EventsOf("c1", Topics.Exit));
        Assert.Single(EventsOf("c1", Topics.Delete));
    }

    [Fact]
    public async Task A_delete_event_lost_with_the_runtime_before_it_was_written_is_published_after_the_restart()
    {
        await ExitedAsync("c1");
        await Journal.Ask<GatedJournal.Done>(new GatedJournal.Hold(BusId), Bound);
        Manager.Tell(InDefault(new TaskProtocol.Delete("c1")), CreateTestProbe());
        await HeldAsync(e => e is { ContainerId: "c1", Topic: Topics.Delete });

        // SIGKILL before the write: the runtime stops, the write never happens.
        await StopRuntimeAsync();
        Assert.Empty(EventsOf("c1", Topics.Delete));
        await Journal.Ask<GatedJournal.Done>(new GatedJournal.Drop(), Bound);
        await StartRuntimeAsync();
        await Runtime.AwaitLoadedAsync().WaitAsync(Bound);

        // The record was kept, so the restarted runtime still owes the delete (the shim no longer knows the task).
        Assert.True((await ExpectCleanedAsync("c1")).Published);
        await WaitForEventAsync("c1", Topics.Delete);
        await QuietAsync();
        Assert.Single(EventsOf("c1", Topics.Delete));
        // The exit was written before the restart (and recorded then): the bus drops the cleanup's copy.
        Assert.Single(EventsOf("c1", Topics.Exit));
        Assert.DoesNotContain(await RecordsAsync(), r => r.ContainerId == "c1");
    }

    [Fact]
    public async Task DeleteExec_keeps_the_exec_record_and_answers_only_once_the_exec_exit_is_written()
    {
        await RunAsync("c1");
        await Runtime.ExecAsync("c1", "e1", ProcessSpec);
        await Runtime.StartExecAsync("c1", "e1");
        await Journal.Ask<GatedJournal.Done>(new GatedJournal.Hold(BusId), Bound);
        // The exec ends; its exit's write is held, and the Delete that follows may be answered only after that write.
        await Launcher["c1"].ExitAsync("c1", 3, "e1");
        await Runtime.WaitExecAsync("c1", "e1").WaitAsync(Bound);
        await HeldAsync(e => e is { ContainerId: "c1", ExecId: "e1", Topic: Topics.Exit });

        var caller = CreateTestProbe();
        Manager.Tell(InDefault(new TaskProtocol.DeleteExec("c1", "e1")), caller);
        await EventuallyAsync(() => CallsOf(Launcher["c1"], ActorRuntime.Protocol.Shim.TaskApi.Methods.Delete) == 1, "the shim's Delete", Bound);
        Assert.Contains(await RecordsAsync(), r => r is { ContainerId: "c1", ExecId: "e1" });
        Assert.False(caller.HasMessages, "DeleteExec answered before the exec's exit was written");

        await Journal.Ask<GatedJournal.Done>(new GatedJournal.Release(), Bound);
        await caller.ExpectMsgAsync<TaskProtocol.Exited>(Bound);
        Assert.DoesNotContain(await RecordsAsync(), r => r is { ContainerId: "c1", ExecId: "e1" });
        await QuietAsync();
        Assert.Single(EventsOf("c1", Topics.Exit, "e1"));
    }

    [Fact]
    public async Task Dead_shim_cleanup_keeps_the_record_when_the_bus_does_not_confirm_and_the_next_start_settles_it()
    {
        await RunAsync("c1");
        await Journal.Ask<GatedJournal.Done>(new GatedJournal.Hold(BusId), Bound);
        await Launcher["c1"].KillAsync();

        // The cleanup gives up waiting for the write (its cleanup timeout) and finishes, but keeps what is owed.
        await ExpectCleanedAsync("c1");
        Assert.False(Directory.Exists(BundlePath("c1")));
        Assert.Contains(await RecordsAsync(), r => r.ContainerId == "c1");

        // The bus writes late; the next start settles the kept record (its bundle gone), and the bus drops the copies.
        await Journal.Ask<GatedJournal.Done>(new GatedJournal.Release(), Bound);
        await WaitForEventAsync("c1", Topics.Delete);
        await StopRuntimeAsync();
        await StartRuntimeAsync();
        await Runtime.AwaitLoadedAsync().WaitAsync(Bound);
        await EventuallyAsync(async () => (await RecordsAsync()).All(r => r.ContainerId != "c1"), "the kept record to be settled", Bound);
        await QuietAsync();
        Assert.Single(EventsOf("c1", Topics.Exit));
        Assert.Single(EventsOf("c1", Topics.Delete));
    }

    [Fact]
    public async Task Records_settled_at_start_are_forgotten_only_once_their_events_are_written()
    {
        await RunAsync("c1");
        await StopRuntimeAsync();
        // While the runtime is down the shim and the bundle go; and the restarted bus is slow to write.
        await Launcher["c1"].KillAsync();
        Directory.Delete(BundlePath("c1"), recursive: true);
        await Journal.Ask<GatedJournal.Done>(new GatedJournal.Hold(BusId), Bound);
        await StartRuntimeAsync();

        // The exit's write is held (the journal gets the delete only after it): nothing of the two is written yet.
        await HeldAsync(e => e is { ContainerId: "c1", Topic: Topics.Exit });
        Assert.Contains(await RecordsAsync(), r => r.ContainerId == "c1");

        await Journal.Ask<GatedJournal.Done>(new GatedJournal.Release(), Bound);
        await Runtime.AwaitLoadedAsync().WaitAsync(Bound);
        await EventuallyAsync(async () => (await RecordsAsync()).All(r => r.ContainerId != "c1"), "the settled record to be forgotten", Bound);
        await QuietAsync();
        Assert.Single(EventsOf("c1", Topics.Exit));
        Assert.Single(EventsOf("c1", Topics.Delete));
    }

    /// <summary>c1 runs and exits; its exit is written.</summary>
    private async Task ExitedAsync(string id)
    {
        await RunAsync(id);
        await Runtime.KillAsync(id, 9);
        await Runtime.WaitAsync(id).WaitAsync(Bound);
        await WaitForEventAsync(id, Topics.Exit);
        await SettleAsync();
    }

    private Task HeldAsync(Func<TaskEvent, bool> which) =>
        EventuallyAsync(async () => (await Journal.Ask<GatedJournal.Held>(new GatedJournal.GetHeld(), Bound)).Payloads
            .OfType<EventDelivered>().Any(d => which(d.Event)), "the event's write to be held", Bound);
}
