using System.Collections.Immutable;
using Akka.Actor;
using static ActorRuntime.Events.EventBusProtocol;

namespace ActorRuntime.Events;

/// <summary>
/// One subscription as the <see cref="SubscriptionHub"/> keeps it. Immutable; its methods take one thing that happened
/// (a live event, a journal page, a worker's progress) and return the next subscription plus what the hub must do.
/// </summary>
/// <param name="StartAfter">Live events at or below this offset are not for it (replayed instead, or before it began).</param>
/// <param name="Enqueued">Events handed to its worker so far.</param>
/// <param name="CatchUp">Set while it replays the journal; live events wait in it.</param>
/// <param name="Origin">Where it began: the offset it replays after, or the live position when it opened.</param>
/// <param name="OnCancelled">A backend's callback for <see cref="SubscriptionCancelled"/> (an actor subscriber is told).</param>
internal sealed record Subscription(
    string Id,
    SubscriptionKind Kind,
    EventFilter Filter,
    IReadOnlyList<string> Filters,
    IActorRef Worker,
    IActorRef? Subscriber,
    EventOffset StartAfter,
    long Enqueued,
    WorkerProgress Progress,
    CatchUp? CatchUp,
    EventOffset Origin,
    Action<SubscriptionCancelled>? OnCancelled)
{
    /// <summary>Where to resume after a cancellation: every matching event up to it was handled.</summary>
    public EventOffset ResumeAfter => EventOffset.Max(Origin, Progress.DoneThrough);

    /// <summary>Handed to the worker and not yet acked/finished.</summary>
    public long Outstanding => Enqueued - Progress.Completed;

    /// <summary>
    /// A new subscription at the live position <paramref name="live"/>. From an earlier offset it first replays the journal
    /// for (after, live]. The bus writes one journal entry per delivered event, in offset order, plus now and then a
    /// <see cref="RunsForgotten"/>, so an event's sequence number is never below its offset: reading from sequence number
    /// after + 1 finds every later event and skips only a few entries.
    /// </summary>
    public static Step Open(
        string id, SubscriptionKind kind, EventFilter filter, IReadOnlyList<string> filters, IActorRef worker,
        IActorRef? subscriber, EventOffset live, EventOffset? after, Action<SubscriptionCancelled>? onCancelled = null)
    {
        var subscription = new Subscription(id, kind, filter, filters, worker, subscriber,
            EventOffset.Max(after ?? live, live), 0, WorkerProgress.None(id), null, after ?? live, onCancelled);
        if (after is not { } from || from >= live) return new Step(subscription, []);
        var catchUp = new CatchUp(from, live, from.Value + 1, ImmutableQueue<TaskEvent>.Empty, 0, Reading: true, FailedReads: 0);
        return new Step(subscription with { CatchUp = catchUp }, [new HubEffect.ReadJournal(id, catchUp.NextSequenceNr)]);
    }

    /// <summary>A live event, just written: handed on, or kept behind the replay (too many kept ends the subscription).</summary>
    public Step OnLive(TaskEvent e, int maxKept)
    {
        if (EventOffset.Of(e) <= StartAfter || !Filter.Matches(e)) return new Step(this, []);
        if (CatchUp is not { } c) return new Step(this with { Enqueued = Enqueued + 1 }, [new HubEffect.Deliver(Worker, e)]);
        if (maxKept > 0 && c.KeptCount >= maxKept)
            return Cancel($"more than {maxKept} live events arrived while replaying");
        return new Step(this with { CatchUp = c with { Kept = c.Kept.Enqueue(e), KeptCount = c.KeptCount + 1 } }, []);
    }

    /// <summary>
    /// The writer resumed at <paramref name="resumed"/> beyond the live position <paramref name="live"/>: the events in
    /// between were written but never handed over live, so they are read back from the journal like a replay. One
    /// already replaying replays on to the new position instead of its kept events, which are in the journal too.
    /// </summary>
    public Step Resume(EventOffset live, EventOffset resumed)
    {
        if (CatchUp is { } c)
            return new Step(this with { CatchUp = c with { Until = resumed, Kept = ImmutableQueue<TaskEvent>.Empty, KeptCount = 0 } }, []);
        var catchUp = new CatchUp(live, resumed, live.Value + 1, ImmutableQueue<TaskEvent>.Empty, 0, Reading: true, FailedReads: 0);
        return new Step(this with { CatchUp = catchUp }, [new HubEffect.ReadJournal(Id, catchUp.NextSequenceNr)]);
    }

    /// <summary>A page of the journal read for the replay; when the replay reaches the live position, the kept events follow.</summary>
    public Step OnPage(JournalPage page, int pageSize)
    {
        if (CatchUp is not { Reading: true } c || page.FromSequenceNr != c.NextSequenceNr) return new Step(this, []);
        var effects = new List<HubEffect>();
        var position = c.Position;
        foreach (var e in page.Events)
        {
            var offset = EventOffset.Of(e);
            if (offset <= position || offset > c.Until) continue;
            position = offset;
            if (Filter.Matches(e)) effects.Add(new HubEffect.Deliver(Worker, e));
        }

        if (position >= c.Until)
        {
            effects.AddRange(c.Kept.Select(e => new HubEffect.Deliver(Worker, e)));
            return new Step(this with { Enqueued = Enqueued + effects.Count, CatchUp = null }, effects);
        }
        // Everything up to Until was written before the subscription began, so an empty page means the journal lost it.
        if (page.IsEmpty)
            return Cancel($"the journal has no events after offset {position}, though events up to {c.Until} were written");
        var next = this with
        {
            Enqueued = Enqueued + effects.Count,
            CatchUp = c with { Position = position, NextSequenceNr = page.LastSequenceNr + 1, Reading = false, FailedReads = 0 },
        };
        return next.ReadMoreIfDrained(pageSize, effects);
    }

    /// <summary>Reading a page failed: try again later, or end the subscription after <paramref name="maxAttempts"/> failures in a row.</summary>
    public Step OnReadFailed(long fromSequenceNr, Exception error, int maxAttempts)
    {
        if (CatchUp is not { Reading: true } c || fromSequenceNr != c.NextSequenceNr) return new Step(this, []);
        var failed = c.FailedReads + 1;
        if (failed >= maxAttempts)
            return Cancel($"reading the journal after offset {c.Position} failed {failed} times: {error.Message}");
        return new Step(this with { CatchUp = c with { FailedReads = failed } }, [new HubEffect.RetryRead(Id)]);
    }

    /// <summary>The retry delay after a failed read is over.</summary>
    public Step OnRetry() =>
        CatchUp is { Reading: true } c ? new Step(this, [new HubEffect.ReadJournal(Id, c.NextSequenceNr)]) : new Step(this, []);

    public Step OnProgress(WorkerProgress progress, int pageSize) =>
        (this with { Progress = progress }).ReadMoreIfDrained(pageSize, []);

    public Step Cancel(string reason) => new(null, [new HubEffect.Cancel(this, reason)]);

    public SubscriptionStats Stats() => new(
        Id, Kind, Filters, Enqueued, Progress.Handed, Progress.Completed, Progress.LastHandedOffset.Value,
        Progress.LastCompletedOffset.Value, Progress.Failures, Progress.ActiveContainers);

    /// <summary>Back-pressure: the next page is read only once the worker is down to one page outstanding.</summary>
    private Step ReadMoreIfDrained(int pageSize, List<HubEffect> effects)
    {
        if (CatchUp is not { Reading: false } c || Outstanding > pageSize) return new Step(this, effects);
        effects.Add(new HubEffect.ReadJournal(Id, c.NextSequenceNr));
        return new Step(this with { CatchUp = c with { Reading = true } }, effects);
    }
}

/// <summary>
/// A subscription's replay of (<paramref name="Position"/>, <paramref name="Until"/>]: Until is the live position when it
/// began, Position the last offset replayed. <paramref name="NextSequenceNr"/> is where the next journal read starts;
/// <paramref name="Kept"/> holds the live events after Until, in order, until the replay reaches Until;
/// <paramref name="Reading"/> is true while a read (or its retry) is under way.
/// </summary>
internal sealed record CatchUp(
    EventOffset Position,
    EventOffset Until,
    long NextSequenceNr,
    ImmutableQueue<TaskEvent> Kept,
    int KeptCount,
    bool Reading,
    int FailedReads);

/// <summary>A subscription after one step (null: it ended) and what the hub must do for it, in order.</summary>
internal readonly record struct Step(Subscription? Next, IReadOnlyList<HubEffect> Effects);

/// <summary>What the <see cref="SubscriptionHub"/> carries out after a step: the I/O its pure state cannot do.</summary>
internal abstract record HubEffect
{
    /// <summary>Hand <paramref name="Event"/> to the subscription's worker.</summary>
    public sealed record Deliver(IActorRef Worker, TaskEvent Event) : HubEffect;

    /// <summary>Read the next page of the journal for a replaying subscription.</summary>
    public sealed record ReadJournal(string SubscriptionId, long FromSequenceNr) : HubEffect;

    /// <summary>Read it again after a pause.</summary>
    public sealed record RetryRead(string SubscriptionId) : HubEffect;

    /// <summary>The subscription is over: stop its worker and tell its subscriber why.</summary>
    public sealed record Cancel(Subscription Subscription, string Reason) : HubEffect;
}
