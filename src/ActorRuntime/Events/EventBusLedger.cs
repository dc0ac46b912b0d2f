using System.Collections.Immutable;
using ActorRuntime.Store;
using Akka.Actor;

namespace ActorRuntime.Events;

/// <summary>
/// One journal write the bus has started and not yet seen confirmed; <paramref name="Publisher"/> wants the ack, and so
/// do the publishers of <paramref name="Duplicates"/>, copies of the event that arrived while it was being written
/// (answered with their own outcome, but only once the write is confirmed: until then nothing is durable).
/// </summary>
internal sealed record PendingWrite(IBusJournalEntry Event, IActorRef? Publisher, ImmutableList<(IActorRef Publisher, EventDropped Copy)> Duplicates)
{
    public PendingWrite(IBusJournalEntry @event, IActorRef? publisher) : this(@event, publisher, []) { }

    /// <summary>Everyone waiting for this write.</summary>
    public IEnumerable<IActorRef> Waiting => Duplicates.Select(d => d.Publisher).Prepend(Publisher).OfType<IActorRef>();
}

/// <summary>
/// The bus's state as decided versus as written. Publishing never waits for the journal: each decision is taken against
/// <see cref="Decided"/> and applied to it at once (so a duplicate arriving while the first write is in flight is already
/// dropped), and queued in <see cref="InFlight"/> until the journal confirms it; <see cref="Written"/> follows the
/// confirmations, which come in write order, and is what snapshots hold. Immutable: every method returns a new ledger.
/// </summary>
internal sealed record EventBusLedger(
    EventBusState Written,
    EventBusState Decided,
    ImmutableQueue<PendingWrite> InFlight,
    int WrittenSinceSnapshot)
{
    public static readonly EventBusLedger Empty = new(EventBusState.Empty, EventBusState.Empty, ImmutableQueue<PendingWrite>.Empty, 0);

    /// <summary>Recovery: a snapshot's state, written and decided alike.</summary>
    public EventBusLedger Restored(EventBusState state) => this with { Written = state, Decided = state };

    /// <summary>Recovery: an event read back from the journal.</summary>
    public EventBusLedger Replayed(IBusJournalEntry written) => this with { Written = Apply(Written, written), Decided = Apply(Decided, written) };

    /// <summary>
    /// A publish decision; a delivered one is about to be written for <paramref name="publisher"/>. A duplicate of an
    /// event still being written joins that write: its publisher is answered when it is confirmed (see
    /// <see cref="WaitsForWrite"/>).
    /// </summary>
    public EventBusLedger Took(PublishDecision decision, IActorRef? publisher) => this with
    {
        Decided = Decided.Apply(decision),
        InFlight = decision switch
        {
            EventDelivered delivered => InFlight.Enqueue(new PendingWrite(delivered, publisher)),
            EventDropped dropped when publisher is not null && WriteOf(dropped) is { } original =>
                ImmutableQueue.CreateRange(InFlight.Select(w =>
                    ReferenceEquals(w, original) ? w with { Duplicates = w.Duplicates.Add((publisher, dropped)) } : w)),
            _ => InFlight,
        },
    };

    /// <summary>Whether <paramref name="dropped"/> is a copy of an event still being written, whose publisher waits for it.</summary>
    public bool WaitsForWrite(EventDropped dropped) => WriteOf(dropped) is not null;

    private PendingWrite? WriteOf(EventDropped dropped) =>
        dropped.Reason != DropReason.Duplicate
            ? null
            : InFlight.LastOrDefault(w => w.Event is EventDelivered { Key: { } key } d
                && key == RunKey.Of(dropped.Event) && d.Event.Topic == dropped.Event.Topic);

    /// <summary>Forgetting or releasing runs; about to be written.</summary>
    public EventBusLedger Took(IRunBookkeeping bookkeeping) => this with
    {
        Decided = Apply(Decided, bookkeeping),
        InFlight = InFlight.Enqueue(new PendingWrite(bookkeeping, null)),
    };

    /// <summary>The journal confirmed <paramref name="written"/>, the oldest write in flight.</summary>
    public (EventBusLedger Ledger, PendingWrite Write) Confirmed(IBusJournalEntry written)
    {
        var (rest, write) = Oldest(written);
        return (this with { Written = Apply(Written, written), InFlight = rest, WrittenSinceSnapshot = WrittenSinceSnapshot + 1 }, write);
    }

    /// <summary>
    /// The journal rejected <paramref name="rejected"/> (not stored). The decided state is rebuilt from what is written plus
    /// the writes still in flight, so exactly the rejected decision no longer counts: a later write of the same run carries
    /// the run as decided with it, but takes its exit and delete marks from the state it is applied to
    /// (<see cref="EventBusState.Apply(PublishDecision)"/>), so a rejected exit followed by a written delete leaves the
    /// run not exited and a retried exit is delivered. The offsets of the writes in flight stay as given; the rejected
    /// event's offset is given again only when no write in flight holds a later one (it was never stored, acknowledged or
    /// handed to a subscriber), so offsets have a gap only when one cannot be avoided, and never repeat. The drop counters,
    /// which are never written, are kept.
    /// </summary>
    public (EventBusLedger Ledger, PendingWrite Write) Rejected(IBusJournalEntry rejected)
    {
        var (rest, write) = Oldest(rejected);
        var rebuilt = rest.Aggregate(Written, (state, pending) => Apply(state, pending.Event)) with
        {
            DroppedDuplicates = Decided.DroppedDuplicates,
            DroppedStale = Decided.DroppedStale,
        };
        return (this with { Decided = rebuilt, InFlight = rest }, write);
    }

    public bool SnapshotDue(int every) => every > 0 && WrittenSinceSnapshot >= every;

    public EventBusLedger SnapshotTaken() => this with { WrittenSinceSnapshot = 0 };

    private (ImmutableQueue<PendingWrite> Remaining, PendingWrite Write) Oldest(IBusJournalEntry expected)
    {
        var rest = InFlight.Dequeue(out var write);
        // Akka confirms or rejects a persistent actor's writes in the order they were made; anything else is a bug here.
        if (!ReferenceEquals(write.Event, expected))
            throw new InvalidOperationException($"journal answered for {expected} while {write.Event} was the oldest write in flight");
        return (rest, write);
    }

    private static EventBusState Apply(EventBusState state, IBusJournalEntry written) => written switch
    {
        EventDelivered delivered => state.Apply(delivered),
        RunsForgotten forgotten => state.Apply(forgotten),
        RunsReleased released => state.Apply(released),
        RunsGivenUp givenUp => state.Apply(givenUp),
        _ => throw new ArgumentOutOfRangeException(nameof(written), written, "not an event of the bus"),
    };
}
