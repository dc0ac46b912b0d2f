using System.Runtime.CompilerServices;
using ActorRuntime.Events;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using ActorRuntime.Tests.Runtime;
using Akka.Actor;
using Akka.Pattern;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.TestKit;
using Xunit.Abstractions;
using static ActorRuntime.Events.EventBusProtocol;

namespace ActorRuntime.Tests.Persistence;

/// <summary>
/// The runtime over Akka.Persistence.TestKit's journal, whose writes the specs make fail (a database fail-over, a full
/// disk: Akka stops the writer) or reject for a while: the bus and the stores come back under their back-off
/// supervisors, no exit is lost or doubled, and nothing is answered as stored that is not. Deliveries are counted as the
/// recorder received them.
/// </summary>
public sealed class FailingJournalSpec(ITestOutputHelper output) : RuntimeSpecBase(output, """
    akka.persistence.journal.inmem.class = "Akka.Persistence.TestKit.TestJournal, Akka.Persistence.TestKit"
    actor-runtime.persistence-backoff { min = 50ms, max = 400ms }
    """)
{
    private ITestJournal Journal =>
        TestJournal.FromRef(Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor("akka.persistence.journal.inmem"));

    private static object PayloadOf(IPersistentRepresentation p) => p.Payload is Tagged t ? t.Payload : p.Payload;

    private static bool IsEvent(IPersistentRepresentation p, string containerId, string topic) =>
        PayloadOf(p) is EventDelivered d && d.Event.ContainerId == containerId && d.Event.Topic == topic;

    /// <summary>A predicate true for the first <paramref name="times"/> writes it matches, counting them in <paramref name="seen"/>.</summary>
    private static Func<IPersistentRepresentation, bool> FirstTimes(int times, StrongBox<int> seen, Func<IPersistentRepresentation, bool> match) =>
        p => match(p) && Interlocked.Increment(ref seen.Value) <= times;

    private async Task AssertOffsetsConsecutiveAsync()
    {
        await QuietAsync();
        // Every delivery, as received: none doubled, none skipped.
        Assert.Equal(Enumerable.Range(1, Events.Count).Select(i => (long)i), Events.Select(e => e.Offset));
    }

    [Fact]
    public async Task An_exit_whose_write_fails_three_times_is_delivered_once_after_the_bus_restarts_and_its_delete_follows()
    {
        await RunAsync("c1");
        var failed = new StrongBox<int>();
        await Journal.OnWrite.FailIf(FirstTimes(3, failed, p => IsEvent(p, "c1", Topics.Exit)));

        await Launcher["c1"].ExitAsync("c1", 7);
        await WaitForEventAsync("c1", Topics.Exit);
        Assert.True(failed.Value >= 4, $"the exit was written after {failed.Value - 1} failures, not 3");
        await Runtime.DeleteAsync("c1").WaitAsync(Bound);

        var exit = Assert.Single(EventsOf("c1", Topics.Exit));
        Assert.Equal(7u, exit.ExitStatus);
        var delete = Assert.Single(EventsOf("c1", Topics.Delete));
        Assert.True(exit.Offset < delete.Offset);
        await AssertOffsetsConsecutiveAsync();
    }

    [Fact]
    public async Task An_exit_published_while_every_write_of_the_bus_fails_is_not_lost_and_arrives_once_the_journal_is_back()
    {
        await RunAsync("c1");
        var failed = new StrongBox<int>();
        await Journal.OnWrite.FailIf(p => p.PersistenceId == BusId && Interlocked.Increment(ref failed.Value) > 0);

        await Launcher["c1"].ExitAsync("c1", 3);
        await EventuallyAsync(() => failed.Value >= 3, "the bus to fail three writes", Bound);
        Assert.Empty(EventsOf("c1", Topics.Exit));

        await Journal.OnWrite.Pass();
        await WaitForEventAsync("c1", Topics.Exit);
        Assert.Equal(3u, Assert.Single(EventsOf("c1", Topics.Exit)).ExitStatus);
        await AssertOffsetsConsecutiveAsync();
    }

    [Fact]
    public async Task A_start_made_while_every_write_of_the_bus_fails_is_published_once_the_journal_is_back()
    {
        var pid = await Runtime.CreateAsync("c1", Spec, []);
        await WaitForEventAsync("c1", Topics.Create);
        var failed = new StrongBox<int>();
        await Journal.OnWrite.FailIf(p => p.PersistenceId == BusId && Interlocked.Increment(ref failed.Value) > 0);

        // Our copy and the shim's forwarded copy both meet a failing bus; ours is sent again until it is written.
        Assert.Equal(pid, await Runtime.StartAsync("c1"));
        await EventuallyAsync(() => failed.Value >= 3, "the bus to fail three writes", Bound);
        Assert.Empty(EventsOf("c1", Topics.Start));

        await Journal.OnWrite.Pass();
        await WaitForEventAsync("c1", Topics.Start);
        await QuietAsync();
        Assert.Equal(pid, Assert.Single(EventsOf("c1", Topics.Start)).Pid);
        await AssertOffsetsConsecutiveAsync();
    }

    [Fact]
    public async Task A_pause_the_shim_forwards_while_every_write_of_the_bus_fails_is_published_once_the_journal_is_back()
    {
        await RunAsync("c1");
        await WaitForEventAsync("c1", Topics.Start);
        var failed = new StrongBox<int>();
        await Journal.OnWrite.FailIf(p => p.PersistenceId == BusId && Interlocked.Increment(ref failed.Value) > 0);

        // Only the shim publishes /tasks/paused: its forward is answered at once and sent on until the bus has it.
        await Runtime.PauseAsync("c1");
        await EventuallyAsync(() => failed.Value >= 3, "the bus to fail three writes", Bound);
        Assert.Empty(EventsOf("c1", Topics.Paused));

        await Journal.OnWrite.Pass();
        await WaitForEventAsync("c1", Topics.Paused);
        await QuietAsync();
        Assert.Single(EventsOf("c1", Topics.Paused));
        await AssertOffsetsConsecutiveAsync();
    }

    [Fact]
    public async Task A_rejected_exit_followed_by_a_written_delete_leaves_the_run_not_exited_so_the_retried_exit_is_delivered_once()
    {
        var rejected = new StrongBox<int>();
        await Journal.OnWrite.RejectIf(FirstTimes(1, rejected, p => IsEvent(p, "x1", Topics.Exit)));
        var publisher = CreateTestProbe();
        var exit = new TaskEvent("spec", Topics.Exit, "x1", "", 42, 9, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
        var delete = exit with { Topic = Topics.Delete };

        // Both decided before the journal answers: the delete is decided on a run whose exit is in.
        Bus.Tell(new Publish(exit, WantAck: true), publisher);
        Bus.Tell(new Publish(delete, WantAck: true), publisher);
        await publisher.ExpectMsgAsync<Status.Failure>(Bound);
        Assert.True((await publisher.ExpectMsgAsync<Published>(Bound)).Delivered);

        // Across a restart too: the journal holds the delete, not the exit.
        await StopRuntimeAsync();
        await StartRuntimeAsync();
        Assert.Equal(PublishOutcome.Delivered, (await Bus.Ask<Published>(new Publish(exit, WantAck: true), Bound)).Outcome);
        Assert.Equal(PublishOutcome.DroppedDuplicate, (await Bus.Ask<Published>(new Publish(exit, WantAck: true), Bound)).Outcome);
        Assert.Equal(PublishOutcome.DroppedDuplicate, (await Bus.Ask<Published>(new Publish(delete, WantAck: true), Bound)).Outcome);

        await QuietAsync();
        Assert.Single(EventsOf("x1", Topics.Exit));
        Assert.Single(EventsOf("x1", Topics.Delete));
        // The rejected exit's offset is never given again.
        Assert.Equal(Events.Count, Events.Select(e => e.Offset).Distinct().Count());
    }

    [Fact]
    public async Task An_exit_rejected_once_at_the_door_is_retried_and_delivered_once_before_its_delete()
    {
        await RunAsync("c1");
        var rejected = new StrongBox<int>();
        await Journal.OnWrite.RejectIf(FirstTimes(1, rejected, p => IsEvent(p, "c1", Topics.Exit)));
        await Launcher["c1"].ExitAsync("c1", 0);
        await Runtime.WaitAsync("c1").WaitAsync(Bound);
        await Runtime.DeleteAsync("c1").WaitAsync(Bound);

        await QuietAsync();
        Assert.True(rejected.Value >= 2, "the exit was not rejected first");
        var exit = Assert.Single(EventsOf("c1", Topics.Exit));
        Assert.True(exit.Offset < Assert.Single(EventsOf("c1", Topics.Delete)).Offset);
        // Nothing else was in flight: the rejected exit's offset went to its retry.
        await AssertOffsetsConsecutiveAsync();
    }

    [Fact]
    public async Task A_container_created_while_its_store_cannot_write_is_refused_as_unavailable_and_created_once_the_journal_is_back()
    {
        await Journal.OnWrite.FailIf(p => p.PersistenceId == "containers-spec");

        await Assert.ThrowsAsync<UnavailableException>(() => Runtime.CreateContainerAsync("c1", Spec));
        // Down or restarted, the store answers; never with a container it did not store.
        await EventuallyAsync(async () =>
        {
            try
            {
                await Runtime.GetContainerAsync("c1");
                return false;
            }
            catch (NotFoundException)
            {
                return true;
            }
            catch (UnavailableException)
            {
                return false;
            }
            catch (AskTimeoutException)
            {
                // Sent while the failed store was stopping, before its supervisor learnt it: a dead letter, no answer.
                return false;
            }
        }, "the restarted store to answer", Bound);

        await Journal.OnWrite.Pass();
        var created = await Runtime.CreateContainerAsync("c1", Spec);
        Assert.Equal(created, await Runtime.GetContainerAsync("c1"));
    }

    [Fact]
    public async Task A_container_write_the_journal_rejects_is_refused_as_unavailable_and_leaves_the_store_as_it_was()
    {
        await Runtime.CreateContainerAsync("c1", Spec);
        var rejected = new StrongBox<int>();
        await Journal.OnWrite.RejectIf(FirstTimes(1, rejected, p => p.PersistenceId == "containers-spec"));

        await Assert.ThrowsAsync<UnavailableException>(() => Runtime.DeleteContainerAsync("c1"));
        // A rejection does not stop the store: it answers at once, with the container still there.
        Assert.Equal("c1", (await Runtime.GetContainerAsync("c1")).Id);
        await Runtime.DeleteContainerAsync("c1");
        await Assert.ThrowsAsync<NotFoundException>(() => Runtime.GetContainerAsync("c1"));
    }

    [Fact]
    public async Task A_store_waiting_out_its_back_off_answers_an_ask_at_once_as_unavailable_instead_of_leaving_it_to_time_out()
    {
        // A back-off far longer than the spec: the store stays down while it is asked.
        var store = Sys.ActorOf(new PersistenceBackoff(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10), 0)
            .Supervise(ProcessStore.Props("backoff"), "store", "process store"));
        await Journal.OnWrite.FailIf(p => p.PersistenceId == "tasks-backoff");
        var record = new ProcessRecord("backoff", "c1", "", "/run/ar/backoff/c1", Stdio.Null);

        var failed = await Assert.ThrowsAsync<UnavailableException>(() =>
            store.Ask<ProcessStoreProtocol.Recorded>(new ProcessStoreProtocol.Record(record, WantAck: true), Bound));
        Assert.StartsWith("tasks-backoff: the journal did not confirm the write", failed.Message);
        // Akka stops the store after the failed write; an ask sent before its supervisor has seen it go is a dead letter.
        await EventuallyAsync(async () =>
                (await store.Ask<BackoffSupervisor.CurrentChild>(BackoffSupervisor.GetCurrentChild.Instance, Bound)).Ref.IsNobody(),
            "the supervisor to see its store stopped", Bound);

        // Answered by the supervisor, not timed out (an unanswered ask would throw AskTimeoutException).
        var down = await Assert.ThrowsAsync<UnavailableException>(() =>
            store.Ask<ProcessStoreProtocol.All>(new ProcessStoreProtocol.GetAll(), Bound));
        Assert.Equal("process store: restarting after a failed journal write; nothing was stored, try again", down.Message);
    }

    [Fact]
    public async Task A_start_whose_record_cannot_be_written_is_not_answered_as_done_and_the_record_is_written_once_the_store_is_back()
    {
        await Runtime.CreateAsync("c1", Spec, []);
        await Journal.OnWrite.FailIf(p => p.PersistenceId == "tasks-spec");

        await Assert.ThrowsAsync<UnavailableException>(() => Runtime.StartAsync("c1"));

        await Journal.OnWrite.Pass();
        await EventuallyAsync(async () =>
        {
            try
            {
                var all = await Runtime.Actors.Processes.Ask<ProcessStoreProtocol.All>(new ProcessStoreProtocol.GetAll(), Bound);
                return all.Tasks.Any(t => t is { ContainerId: "c1", Status: ProcessStatus.Running });
            }
            catch (UnavailableException)
            {
                return false; // the store's back-off
            }
        }, "the started record to be written", Bound);
    }
}
