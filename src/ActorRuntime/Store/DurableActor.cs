using ActorRuntime.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;

namespace ActorRuntime.Store;

/// <summary>
/// What a command leads to: the events to persist (none for a query, a refusal or a no-op) and the reply the sender gets
/// once they are durable and applied (null: no reply).
/// </summary>
public sealed record Decision<TEvent>(IReadOnlyList<TEvent> Events, object? Reply)
{
    public static readonly Decision<TEvent> None = new([], null);

    public static Decision<TEvent> Persist(TEvent evt, object? reply = null) => new([evt], reply);

    public static Decision<TEvent> Respond(object? reply) => new([], reply);
}

/// <summary>The immutable state of a <see cref="DurableActor{TState,TCommand,TEvent}"/>; it is also what a snapshot holds.</summary>
public interface IDurableState<out TState, in TEvent>
{
    /// <summary>The state after one journaled event; pure, used both live and on replay.</summary>
    TState Apply(TEvent evt);
}

/// <summary>
/// A snapshot after every <paramref name="Every"/> events; with <paramref name="DeleteCoveredEvents"/>, the journal events
/// a saved snapshot covers are deleted (recovery never reads them again).
/// </summary>
public sealed record SnapshotPolicy(int Every, bool DeleteCoveredEvents = false);

/// <summary>
/// The one persistent-actor skeleton of the runtime's stores. The state decides (<see cref="Decide"/>) and applies; this
/// class only persists the decided events, applies them, replies and snapshots — and on recovery takes the snapshot and
/// applies the events after it. What is stored is mapped to contracts by <see cref="RuntimeSerializer"/>.
/// <para>A reply that follows events goes out only once they are written. When the journal rejects them the state stays
/// as it was and the sender gets a <see cref="Status.Failure"/> (Unavailable); when the write fails Akka stops the actor,
/// the sender gets the same, and the back-off supervisor it runs under (<see cref="PersistenceBackoff"/>) starts it again
/// from the journal. Nothing is ever answered as stored that is not.</para>
/// </summary>
public abstract class DurableActor<TState, TCommand, TEvent> : ReceivePersistentActor
    where TState : class, IDurableState<TState, TEvent>
    where TCommand : class
    where TEvent : class
{
    private readonly SnapshotPolicy _snapshots;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>Who waits for the events being written (PersistAll holds further commands until they are).</summary>
    private IActorRef? _waiting;

    protected DurableActor(string persistenceId, TState empty, SnapshotPolicy snapshots)
    {
        PersistenceId = persistenceId;
        State = empty;
        _snapshots = snapshots;

        Recover<SnapshotOffer>(offer => State = offer.Snapshot as TState
            ?? throw new InvalidOperationException(
                $"{persistenceId}: snapshot is a {offer.Snapshot.GetType().Name}, not a {typeof(TState).Name}"));
        Recover<TEvent>(e => State = State.Apply(e));
        Recover<RecoveryCompleted>(_ =>
        {
            StartupTrace.Mark(persistenceId + " recovered");
            Recovered();
        });

        Command<TCommand>(c => Execute(Decide(c)));
        Command<SaveSnapshotSuccess>(s =>
        {
            if (_snapshots.DeleteCoveredEvents) DeleteMessages(s.Metadata.SequenceNr);
        });
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "{0}: snapshot at {1} failed", PersistenceId, f.Metadata.SequenceNr));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f =>
            _log.Warning(f.Cause, "{0}: deleting events up to {1} failed", PersistenceId, f.ToSequenceNr));
    }

    public sealed override string PersistenceId { get; }

    protected TState State { get; private set; }

    /// <summary>Asks the state what <paramref name="command"/> leads to (supplying anything impure, such as the time).</summary>
    protected abstract Decision<TEvent> Decide(TCommand command);

    private void Execute(Decision<TEvent> decision)
    {
        var sender = Sender;
        if (decision.Events.Count == 0)
        {
            if (decision.Reply is { } answer) sender.Tell(answer, Self);
            return;
        }
        var pending = decision.Events.Count;
        _waiting = decision.Reply is null ? null : sender;
        PersistAll(decision.Events, e =>
        {
            var before = State;
            State = State.Apply(e);
            Written(e, before);
            if (LastSequenceNr % _snapshots.Every == 0) SaveSnapshot(State);
            if (--pending > 0) return;
            _waiting = null;
            if (decision.Reply is { } reply) sender.Tell(reply, Self);
        });
    }

    /// <summary>
    /// Live only (not on recovery): <paramref name="evt"/> is written and applied; <paramref name="before"/> is the state
    /// it was applied to. For telling others what became durable.
    /// </summary>
    protected virtual void Written(TEvent evt, TState before)
    {
    }

    /// <summary>The journal is read to its end and <see cref="State"/> is what it says: for picking up where it left off.</summary>
    protected virtual void Recovered()
    {
    }

    /// <summary>The events were not stored (they were written as one batch, so none of them was): the state stays.</summary>
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        NotStored(cause);
    }

    /// <summary>Whether the events were stored is unknown; Akka stops the actor after this (recovery will tell).</summary>
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        NotStored(cause);
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    private void NotStored(Exception cause)
    {
        _waiting?.Tell(new Status.Failure(PersistenceBackoff.Unavailable(PersistenceId, cause)), Self);
        _waiting = null;
    }
}
