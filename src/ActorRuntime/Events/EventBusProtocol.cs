using Akka.Actor;

namespace ActorRuntime.Events;

/// <summary>Messages of the <see cref="EventBus"/> actor.</summary>
public static class EventBusProtocol
{
    /// <summary>Marker for messages the bus accepts.</summary>
    public interface IEventBusCommand;

    /// <summary>Marker for the subscription messages; the bus hands them to its subscription side with the sender kept.</summary>
    public interface ISubscriptionCommand : IEventBusCommand;

    /// <summary>
    /// Publish an event (its Offset is ignored and assigned by the bus). With <paramref name="WantAck"/> the sender gets
    /// <see cref="Published"/>.
    /// </summary>
    public sealed record Publish(TaskEvent Event, bool WantAck = false) : IEventBusCommand;

    /// <summary>
    /// The owner of these runs' records has forgotten them: nothing of them will be offered again, so the bus may forget
    /// them once finished and past the retention (see <see cref="RunState.ReleasedAt"/>). No reply; a release lost in a
    /// crash only keeps a run longer (<see cref="RunRetention.HoldUnreleased"/>).
    /// </summary>
    public sealed record Release(IReadOnlyList<RunRelease> Runs) : IEventBusCommand;

    /// <summary>What the bus holds of <paramref name="Key"/>'s current run; the sender gets <see cref="RunInfo"/>.</summary>
    public sealed record GetRun(RunKey Key) : IEventBusCommand;

    /// <summary>Reply to <see cref="GetRun"/>; <paramref name="Run"/> is null when the bus holds no run of the key.</summary>
    public sealed record RunInfo(RunKey Key, RunState? Run);

    /// <summary>
    /// Reply to <see cref="Publish"/> with WantAck. <paramref name="Event"/> carries its offset when delivered (0 when dropped).
    /// </summary>
    public sealed record Published(TaskEvent Event, PublishOutcome Outcome)
    {
        public bool Delivered => Outcome == PublishOutcome.Delivered;
    }

    /// <summary>
    /// Subscribe an actor. Filters use containerd's syntax (see <see cref="EventFilter"/>), OR'ed; none = everything.
    /// The sender gets <see cref="Subscribed"/>, or <c>Status.Failure(InvalidArgumentException)</c> for a bad filter.
    /// The subscriber receives <see cref="TaskEvent"/>s in offset order, sent by the subscription's pump; it replies
    /// <see cref="Ack"/> (to the sender of the event) to let more than <see cref="EventBusSettings.MaxInFlightPerSubscriber"/> through.
    /// Its termination ends the subscription. Events reach it as soon as their journal write is confirmed.
    /// </summary>
    public sealed record Subscribe(IReadOnlyList<string> Filters, IActorRef Subscriber) : ISubscriptionCommand;

    /// <summary>
    /// Subscribe an in-process callback (moby's libcontainerd backend). Calls for one container (namespace + container id,
    /// its execs included) run strictly in offset order, one at a time; different containers run in parallel. A failed
    /// or faulted callback is logged and counted; the container's queue moves on. In-process only (not serializable).
    /// If the bus ends the subscription, <paramref name="Cancelled"/> is called (on the thread pool) with why and where to
    /// resume (see <see cref="SubscriptionCancelled"/>).
    /// </summary>
    public sealed record SubscribeBackend(IReadOnlyList<string> Filters, Func<TaskEvent, Task> Callback,
        Action<SubscriptionCancelled>? Cancelled = null) : ISubscriptionCommand;

    /// <summary>
    /// Resumable actor subscription: first every journaled event with offset &gt; <paramref name="AfterOffset"/> in offset
    /// order, then live ones, with no gap and no duplicate at the switch-over, across restarts of the runtime (offsets are
    /// the bus's delivery numbers 1, 2, 3, …; remember the last one you handled and pass it here). Delivery, acks and lag
    /// as for <see cref="Subscribe"/>. 0 = from the beginning of the journal. Replay reads the journal through its plugin,
    /// so it works on every journal, the in-memory one included (which holds only this process's events).
    /// </summary>
    public sealed record SubscribeFrom(long AfterOffset, IReadOnlyList<string> Filters, IActorRef Subscriber) : ISubscriptionCommand
    {
        public EventOffset After => new(AfterOffset);
    }

    /// <summary>Resumable <see cref="SubscribeBackend"/>: replay after <paramref name="AfterOffset"/>, then live (see <see cref="SubscribeFrom"/>).</summary>
    public sealed record SubscribeBackendFrom(long AfterOffset, IReadOnlyList<string> Filters, Func<TaskEvent, Task> Callback,
        Action<SubscriptionCancelled>? Cancelled = null) : ISubscriptionCommand
    {
        public EventOffset After => new(AfterOffset);
    }

    public sealed record Subscribed(string SubscriptionId);

    /// <summary>End a subscription; the sender gets <see cref="Unsubscribed"/> (Existed false when the id was unknown).</summary>
    public sealed record Unsubscribe(string SubscriptionId) : ISubscriptionCommand;

    public sealed record Unsubscribed(string SubscriptionId, bool Existed);

    /// <summary>Cumulative acknowledgement from an actor subscriber: every event up to and including Offset is handled.</summary>
    public sealed record Ack(long Offset);

    /// <summary>
    /// The bus ended a subscription and says why: its queue overflowed, it fell behind while replaying, reading the
    /// journal kept failing, or the bus's subscription side failed (or stopped). Sent to an actor subscriber; given to a
    /// backend's Cancelled callback. Every matching event up to <paramref name="ResumeAfter"/> was handled (acked, or its
    /// callback finished): <see cref="SubscribeFrom"/> / <see cref="SubscribeBackendFrom"/> after it continues without a
    /// gap (an event after it that was in hand may come again).
    /// </summary>
    public sealed record SubscriptionCancelled(string SubscriptionId, string Reason, long ResumeAfter);

    /// <summary>Ask for <see cref="EventBusStats"/>.</summary>
    public sealed record GetStats : IEventBusCommand
    {
        public static readonly GetStats Instance = new();

        private GetStats()
        {
        }
    }

    /// <summary>
    /// <paramref name="LastOffset"/>: the last event handed to the subscriptions (written, so a resume point).
    /// The drop counters count since the bus started; <paramref name="TrackedRuns"/> is the size of its run bookkeeping;
    /// <paramref name="CancelledSubscriptions"/> counts the subscriptions the bus ended (<see cref="SubscriptionCancelled"/>)
    /// since its subscription side started. <paramref name="StartOffset"/>: where the journal ended when this bus started
    /// (recovered): the events after it are the ones published since, those of a restarted runtime's reload included
    /// (<see cref="SubscribeFrom"/> it to receive them).
    /// </summary>
    public sealed record EventBusStats(
        long LastOffset,
        long DroppedDuplicates,
        long DroppedStale,
        int TrackedRuns,
        IReadOnlyList<SubscriptionStats> Subscriptions,
        long CancelledSubscriptions,
        long StartOffset)
    {
        public SubscriptionStats? this[string subscriptionId] =>
            Subscriptions.FirstOrDefault(s => s.SubscriptionId == subscriptionId);
    }

    /// <summary>
    /// Lag of one subscription, as the bus last heard from its worker.
    /// <paramref name="Enqueued"/>: events the bus routed to it. <paramref name="Handed"/>: passed to the subscriber or
    /// callback. <paramref name="Completed"/>: acked (actor) or finished (backend, success or failure).
    /// <paramref name="LastHandedOffset"/> / <paramref name="LastCompletedOffset"/>: highest offsets so far (for a backend,
    /// across containers). <paramref name="Failures"/>: backend callbacks that threw, faulted or timed out.
    /// <paramref name="ActiveContainers"/>: backend containers with work outstanding.
    /// </summary>
    public sealed record SubscriptionStats(
        string SubscriptionId,
        SubscriptionKind Kind,
        IReadOnlyList<string> Filters,
        long Enqueued,
        long Handed,
        long Completed,
        long LastHandedOffset,
        long LastCompletedOffset,
        long Failures,
        int ActiveContainers)
    {
        /// <summary>Events routed to the subscription and not yet acked/finished.</summary>
        public long Pending => Enqueued - Completed;

        /// <summary>Events still waiting in the worker's queue (not yet handed over).</summary>
        public long Queued => Enqueued - Handed;

        /// <summary>Handed over but not acked/finished.</summary>
        public long InFlight => Handed - Completed;
    }

    public enum SubscriptionKind
    {
        Actor,
        Backend,
    }

    public enum PublishOutcome
    {
        Delivered,
        DroppedDuplicate,
        DroppedStale,
    }

    // ---- internal traffic between the subscription side and its workers ----

    /// <summary>The subscription side hands one delivered event to a subscription worker.</summary>
    internal sealed record Dispatch(TaskEvent Event);

    /// <summary>
    /// A worker's cumulative counters (idempotent: the latest report wins). <paramref name="DoneThrough"/>: every event it
    /// was handed up to this offset is handled (acked, or its callback finished), where a cancelled subscription resumes.
    /// </summary>
    internal sealed record WorkerProgress(
        string SubscriptionId,
        long Handed,
        long Completed,
        EventOffset LastHandedOffset,
        EventOffset LastCompletedOffset,
        long Failures,
        int ActiveContainers,
        EventOffset DoneThrough)
    {
        public static WorkerProgress None(string subscriptionId) =>
            new(subscriptionId, 0, 0, EventOffset.Start, EventOffset.Start, 0, 0, EventOffset.Start);
    }

    /// <summary>A worker gives up (e.g. queue overflow); the subscription ends and the subscriber is told.</summary>
    internal sealed record WorkerGaveUp(string SubscriptionId, string Reason);
}
