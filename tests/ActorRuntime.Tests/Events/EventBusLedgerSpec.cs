using ActorRuntime.Events;
using Akka.Actor;

namespace ActorRuntime.Tests.Events;

/// <summary>The bus's decided-versus-written bookkeeping while journal writes are in flight.</summary>
public sealed class EventBusLedgerSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static TaskEvent Ev(string topic, string container, uint pid) =>
        new("moby", topic, container, "", pid, 0, topic is Topics.Exit or Topics.Delete ? T0 : null, T0);

    private static (EventBusLedger Ledger, PublishDecision Decision) Take(EventBusLedger ledger, TaskEvent e, IActorRef? publisher = null)
    {
        var decision = ledger.Decided.Decide(e, T0);
        return (ledger.Took(decision, publisher), decision);
    }

    [Fact]
    public void Decisions_count_at_once_and_become_written_as_the_journal_confirms_them_in_order()
    {
        var (ledger, create) = Take(EventBusLedger.Empty, Ev(Topics.Create, "c1", 10));
        (ledger, var exit) = Take(ledger, Ev(Topics.Exit, "c1", 10));
        (ledger, var repeat) = Take(ledger, Ev(Topics.Exit, "c1", 10));

        Assert.IsType<EventDropped>(repeat); // the first exit is not written yet, and still the repeat is a duplicate
        Assert.Equal((new EventOffset(2), EventOffset.Start), (ledger.Decided.LastOffset, ledger.Written.LastOffset));

        (ledger, _) = ledger.Confirmed((EventDelivered)create);
        Assert.False(ledger.SnapshotDue(2));
        (ledger, _) = ledger.Confirmed((EventDelivered)exit);
        Assert.Equal(new EventOffset(2), ledger.Written.LastOffset);
        Assert.True(ledger.Written.RunOf(new RunKey("moby", "c1", ""))!.Exited);
        Assert.True(ledger.SnapshotDue(2));
        Assert.False(ledger.SnapshotTaken().SnapshotDue(2));
        Assert.Empty(ledger.InFlight);
    }

    [Fact]
    public void A_confirmation_for_another_write_than_the_oldest_is_refused()
    {
        var (ledger, _) = Take(EventBusLedger.Empty, Ev(Topics.Create, "c1", 10));
        (ledger, var second) = Take(ledger, Ev(Topics.Create, "c2", 20));
        Assert.Throws<InvalidOperationException>(() => ledger.Confirmed((EventDelivered)second));
    }

    [Fact]
    public void A_rejected_write_no_longer_counts_and_its_offset_is_not_given_again_while_later_writes_hold_later_ones()
    {
        var publisher = ActorRefs.Nobody; // any reference: only the rejected write carries one
        var (ledger, exit) = Take(EventBusLedger.Empty, Ev(Topics.Exit, "c1", 10), publisher);
        (ledger, var oom) = Take(ledger, Ev(Topics.Oom, "c2", 0));
        (ledger, _) = Take(ledger, Ev(Topics.Exit, "c2", 0));
        (ledger, _) = Take(ledger, Ev(Topics.Exit, "c2", 0)); // a duplicate, counted

        var (rejected, write) = ledger.Rejected((EventDelivered)exit);

        Assert.Same(publisher, write.Publisher);
        Assert.Null(rejected.Decided.RunOf(new RunKey("moby", "c1", ""))); // the exit can be delivered again
        Assert.NotNull(rejected.Decided.RunOf(new RunKey("moby", "c2", "")));
        Assert.Equal((new EventOffset(3), 1L), (rejected.Decided.LastOffset, rejected.Decided.DroppedDuplicates));
        var again = rejected.Decided.Decide(Ev(Topics.Exit, "c1", 10), T0);
        Assert.Equal(4, Assert.IsType<EventDelivered>(again).Event.Offset);
        Assert.Equal(2, rejected.InFlight.Count());
        Assert.Same(oom, rejected.InFlight.Peek().Event);
    }

    [Fact]
    public void A_rejected_exit_followed_by_a_written_delete_leaves_the_run_not_exited_so_a_retried_exit_is_delivered()
    {
        var (ledger, exit) = Take(EventBusLedger.Empty, Ev(Topics.Exit, "c1", 10));
        (ledger, var delete) = Take(ledger, Ev(Topics.Delete, "c1", 10));
        Assert.True(((EventDelivered)delete).Run!.Exited); // decided while the exit still counted

        (ledger, _) = ledger.Rejected((EventDelivered)exit);
        (ledger, _) = ledger.Confirmed((EventDelivered)delete);

        var key = new RunKey("moby", "c1", "");
        Assert.Equal((false, true), (ledger.Decided.RunOf(key)!.Exited, ledger.Decided.RunOf(key)!.Deleted));
        Assert.Equal((false, true), (ledger.Written.RunOf(key)!.Exited, ledger.Written.RunOf(key)!.Deleted));
        var again = Assert.IsType<EventDelivered>(ledger.Decided.Decide(Ev(Topics.Exit, "c1", 10), T0));
        Assert.Equal(3, again.Event.Offset); // the rejected exit's offset 1 is not given again: the delete holds 2
        // Replayed from the journal (delete, then the retried exit) the run ends up the same, and a copy is a duplicate.
        var replayed = EventBusLedger.Empty.Replayed((EventDelivered)delete);
        Assert.False(replayed.Decided.RunOf(key)!.Exited);
        replayed = replayed.Replayed(again);
        Assert.IsType<EventDropped>(replayed.Decided.Decide(Ev(Topics.Exit, "c1", 10), T0));
    }

    [Fact]
    public void A_duplicate_of_an_event_still_being_written_waits_for_that_write_and_is_failed_with_it()
    {
        var publisher = ActorRefs.Nobody; // any reference: both publishers wait
        var (ledger, exit) = Take(EventBusLedger.Empty, Ev(Topics.Exit, "c1", 10), publisher);
        (ledger, var duplicate) = Take(ledger, Ev(Topics.Exit, "c1", 10), publisher);

        Assert.True(ledger.WaitsForWrite(Assert.IsType<EventDropped>(duplicate)));
        var (_, write) = ledger.Rejected((EventDelivered)exit);
        Assert.Equal(2, write.Waiting.Count());
        Assert.Same(duplicate, Assert.Single(write.Duplicates).Copy);
    }

    [Fact]
    public void The_offset_of_a_rejected_write_with_nothing_after_it_in_flight_is_given_to_the_next_event()
    {
        var (ledger, create) = Take(EventBusLedger.Empty, Ev(Topics.Create, "c1", 10));
        (ledger, var exit) = Take(ledger, Ev(Topics.Exit, "c1", 10));
        (ledger, _) = ledger.Confirmed((EventDelivered)create);

        (ledger, _) = ledger.Rejected((EventDelivered)exit);

        Assert.Equal(new EventOffset(1), ledger.Decided.LastOffset);
        Assert.Equal(2, Assert.IsType<EventDelivered>(ledger.Decided.Decide(Ev(Topics.Exit, "c1", 10), T0)).Event.Offset);
    }
}
