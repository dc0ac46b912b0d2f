using System.Collections.Immutable;
using ActorRuntime.Store;
using Akka.Actor;

namespace ActorRuntime.Events;

/// <summary>One journal write the bus has started and not yet seen confirmed; <paramref name="Publisher"/> wants the ack.</summary>
internal sealed record PendingWrite(IBusJournalEntry Event, IActorRef? Publisher);

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

    /// <summary>A publish decision; a delivered one is about to be written for <paramref name="publisher"/>.</summary>
    public EventBusLedger Took(PublishDecision decision, IActorRef? publisher) => this with
    {
        Decided = Decided.Apply(decision),
        InFlight = decision is EventDelivered delivered ? InFlight.Enqueue(new PendingWrite(delivered, publisher)) : InFlight,
    };

    /// <summary>Forgetting runs; about to be written.</summary>
    public EventBusLedger Took(RunsForgotten forgotten) => this with
    {
        Decided = Decided.Apply(forgotten),
        InFlight = InFlight.Enqueue(new PendingWrite(forgotten, null)),
    };

    /// <summary>The journal confirmed <paramref name="written"/>, the oldest write in flight.</summary>
    public (EventBusLedger Ledger, PendingWrite Write) Confirmed(IBusJournalEntry written)
    {
        var (rest, write) = Oldest(written);
        return (this with { Written = Apply(Written, written), InFlight = rest, WrittenSinceSnapshot = WrittenSinceSnapshot + 1 }, write);
    }

    /// <summary>
    /// The journal rejected <paramref name="rejected"/> (not stored). The decided state is rebuilt from what is written plus
    /// the writes still in flight, so the rejected decision no longer counts; their offsets stay as given (the rejected
    /// event's offset is never used), and the drop counters, which are never written, are kept.
    /// </summary>
    public (EventBusLedger Ledger, PendingWrite Write) Rejected(IBusJournalEntry rejected)
    {
        var (rest, write) = Oldest(rejected);
        var rebuilt = rest.Aggregate(Written, (state, pending) => Apply(state, pending.Event)) with
        {
            LastOffset = Decided.LastOffset,
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
        _ => throw new ArgumentOutOfRangeException(nameof(written), written, "not an event of the bus"),
    };
}
