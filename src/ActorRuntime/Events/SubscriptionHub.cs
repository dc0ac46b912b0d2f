using Akka.Actor;
using Akka.Event;
using static ActorRuntime.Events.EventBusProtocol;

namespace ActorRuntime.Events;

/// <summary>
/// The subscription side of the <see cref="EventBus"/>, its child: keeps the subscriptions, hands every event the bus has
/// written to those that want it, replays the journal for <see cref="SubscribeFrom"/> / <see cref="SubscribeBackendFrom"/>
/// and switches them to live events, holds a replay to its subscriber's pace, and answers <see cref="GetStats"/>.
/// The bus forwards it every subscription message (the caller stays the sender); the <see cref="EventBusWriter"/> sends
/// it, in offset order, each event as soon as its journal write is confirmed (<see cref="Live"/>), and, once recovered,
/// where the journal ends (<see cref="Resume"/>; subscription messages wait for the first). Its state is one immutable <see cref="SubscriptionTable"/>
/// changed by pure functions; this actor only starts workers and journal reads and carries out what those decide.
///
/// <para>Switch-over of a SubscribeFrom(N) at live position L: the subscription takes the live events after L from the
/// start and keeps them; the journal is read for (N, L], all of it written, since the bus hands an event over only once
/// its write is confirmed; when the replay reaches L the kept events follow. Both halves are cut at L, so nothing is
/// missed or doubled.</para>
///
/// <para>The hub outlives the writer. A writer that stopped (a failed journal write) may have had events written that it
/// never handed over; when its successor resumes at L beyond the hub's live position K, every subscription reads (K, L]
/// back from the journal as a replay (one already replaying extends its replay to L), then goes on live: each stream
/// continues with nothing missed or doubled.</para>
///
/// Each subscription has a worker child with its own queue (<see cref="SubscriberPump"/> for actors,
/// <see cref="BackendDispatcher"/> for callbacks), so neither the hub nor the bus ever waits for a subscriber.
/// </summary>
internal sealed class SubscriptionHub : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    /// <summary>Failed journal reads in a row before a replaying subscription is cancelled.</summary>
    private const int MaxReadAttempts = 10;

    private static readonly TimeSpan ReadRetryDelay = TimeSpan.FromMilliseconds(500);

    private readonly EventBusSettings _settings;
    private readonly string _persistenceId;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef _journal = ActorRefs.Nobody;
    private SubscriptionTable _table = SubscriptionTable.At(EventOffset.Start);
    private Exception? _failure;

    public SubscriptionHub(EventBusSettings settings)
    {
        _settings = settings;
        _persistenceId = settings.PersistenceId;

        // Nothing is known of the journal before the writer has recovered.
        Receive<Resume>(r =>
        {
            _journal = r.Journal;
            _table = SubscriptionTable.At(r.Live);
            Become(Positioned);
            Stash.UnstashAll();
        });
        ReceiveAny(_ => Stash.Stash());
    }

    public IStash Stash { get; set; } = null!;

    private void Positioned()
    {
        Receive<Resume>(r =>
        {
            _journal = r.Journal;
            if (r.Live < _table.Live)
                _log.Error("EventBus resumed at offset {0}, before the last event handed over ({1}): the journal lost written events",
                    r.Live, _table.Live);
            else if (r.Live > _table.Live)
                _log.Warning("EventBus resumed at offset {0}; subscriptions read back the events after {1} it had not handed over",
                    r.Live, _table.Live);
            Carry(_table.Resume(r.Live));
        });
        Receive<Live>(l => Carry(_table.Route(l.Event, _settings.MaxQueuedPerSubscriber)));
        Receive<Subscribe>(s => Open(null, s.Filters, s.Subscriber, null, null));
        Receive<SubscribeFrom>(s => Open(s.After, s.Filters, s.Subscriber, null, null));
        Receive<SubscribeBackend>(s => Open(null, s.Filters, null, s.Callback, s.Cancelled));
        Receive<SubscribeBackendFrom>(s => Open(s.After, s.Filters, null, s.Callback, s.Cancelled));
        Receive<Unsubscribe>(u => Sender.Tell(new Unsubscribed(u.SubscriptionId, End(u.SubscriptionId))));
        Receive<CollectStats>(c => Sender.Tell(_table.Stats(c.DroppedDuplicates, c.DroppedStale, c.TrackedRuns)));
        Receive<JournalPage>(p => Carry(_table.Update(p.SubscriptionId, s => s.OnPage(p, _settings.ReplayPageSize))));
        Receive<JournalReadFailed>(f =>
        {
            _log.Warning(f.Error, "Subscription {0}: reading the journal from sequence number {1} failed", f.SubscriptionId, f.FromSequenceNr);
            Carry(_table.Update(f.SubscriptionId, s => s.OnReadFailed(f.FromSequenceNr, f.Error, MaxReadAttempts)));
        });
        Receive<RetryRead>(r => Carry(_table.Update(r.SubscriptionId, s => s.OnRetry())));
        Receive<WorkerProgress>(p => Carry(_table.Update(p.SubscriptionId, s => s.OnProgress(p, _settings.ReplayPageSize))));
        Receive<WorkerGaveUp>(g => Carry(_table.Update(g.SubscriptionId, s => s.Cancel(g.Reason))));
        Receive<Terminated>(OnTerminated);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(EventBusSettings settings) => Akka.Actor.Props.Create(() => new SubscriptionHub(settings));

    /// <summary>A worker that throws is stopped (its Terminated ends the subscription) rather than restarted with an empty queue.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    private void Open(EventOffset? after, IReadOnlyList<string> filters, IActorRef? subscriber, Func<TaskEvent, Task>? callback,
        Action<SubscriptionCancelled>? onCancelled)
    {
        if (after is { } from && from > _table.Live)
        {
            // An offset this bus never gave (another database, or the journal orderings used before offsets were the
            // bus's own): starting after it would skip every event up to it without a word.
            Sender.Tell(new Status.Failure(new Protocol.Ttrpc.TtrpcException(Protocol.Ttrpc.TtrpcCode.OutOfRange, 
                $"offset {from} is beyond the last event {_table.Live}: out of range")));
            return;
        }
        if (!TryParse(filters, out var filter)) return;
        var id = _table.NextId;
        IActorRef worker;
        if (subscriber is not null)
        {
            worker = Context.ActorOf(
                SubscriberPump.Props(id, subscriber, _settings.MaxInFlightPerSubscriber, _settings.MaxQueuedPerSubscriber),
                $"sub-{id}");
            Context.Watch(subscriber);
        }
        else
        {
            worker = Context.ActorOf(BackendDispatcher.Props(id, callback!, _settings.BackendCallbackTimeout), $"backend-{id}");
        }
        Context.Watch(worker);

        var kind = subscriber is null ? SubscriptionKind.Backend : SubscriptionKind.Actor;
        var (table, effects) = _table.Open(kind, filter, filters.ToList(), worker, subscriber, after, onCancelled);
        Sender.Tell(new Subscribed(id));
        Carry((table, effects));
    }

    private bool TryParse(IReadOnlyList<string> filters, out EventFilter filter)
    {
        try
        {
            filter = EventFilter.ParseAll(filters);
            return true;
        }
        catch (Exception ex) when (ex is ArgumentException or Protocol.Ttrpc.TtrpcException)
        {
            filter = EventFilter.Always;
            Sender.Tell(new Status.Failure(ex));
            return false;
        }
    }

    /// <summary>Takes the new table, then does what the change asked for, in order.</summary>
    private void Carry((SubscriptionTable Table, IReadOnlyList<HubEffect> Effects) change)
    {
        _table = change.Table;
        foreach (var effect in change.Effects)
        {
            switch (effect)
            {
                case HubEffect.Deliver d:
                    d.Worker.Tell(new Dispatch(d.Event));
                    break;
                case HubEffect.ReadJournal r:
                    Context.ActorOf(JournalPageReader.Props(r.SubscriptionId, _journal, _persistenceId, r.FromSequenceNr,
                        _settings.ReplayPageSize));
                    break;
                case HubEffect.RetryRead r:
                    Timers.StartSingleTimer(RetryKey(r.SubscriptionId), new RetryRead(r.SubscriptionId), ReadRetryDelay);
                    break;
                case HubEffect.Cancel c:
                    _log.Warning("Subscription {0}: {1}; cancelling it (resume after offset {2})", c.Subscription.Id, c.Reason,
                        c.Subscription.ResumeAfter);
                    Release(c.Subscription);
                    Tell(c.Subscription, c.Reason);
                    break;
                default:
                    throw new InvalidOperationException($"unknown effect {effect}");
            }
        }
    }

    private void OnTerminated(Terminated t)
    {
        foreach (var subscription in _table.Involving(t.ActorRef))
        {
            if (subscription.Worker.Equals(t.ActorRef))
                _log.Warning("Subscription {0} ({1}) lost its worker; removing it", subscription.Id, subscription.Kind);
            End(subscription.Id);
        }
    }

    private bool End(string id)
    {
        var (table, removed) = _table.Remove(id);
        _table = table;
        if (removed is null) return false;
        Release(removed);
        return true;
    }

    /// <summary>Stops a subscription's worker and retry timer; the table no longer holds it.</summary>
    private void Release(Subscription subscription)
    {
        Timers.Cancel(RetryKey(subscription.Id));
        Context.Unwatch(subscription.Worker);
        Context.Stop(subscription.Worker);
        if (subscription.Subscriber is { } subscriber && !_table.HasSubscriber(subscriber))
            Context.Unwatch(subscriber);
    }

    /// <summary>Tells a subscription's subscriber (or backend callback) that it is over, why, and where to resume.</summary>
    private static void Tell(Subscription subscription, string reason)
    {
        var cancelled = new SubscriptionCancelled(subscription.Id, reason, subscription.ResumeAfter.Value);
        subscription.Subscriber?.Tell(cancelled);
        if (subscription.OnCancelled is { } callback)
            // Off this actor's thread, as every backend callback; its own failure has nobody left to tell.
            _ = Task.Run(() => callback(cancelled)).ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
    }

    /// <summary>Remembers why the hub fails: it stops with the bus's restart (see EventBus), and says so then.</summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        try
        {
            return base.AroundReceive(receive, message);
        }
        catch (Exception e)
        {
            _failure = e;
            throw;
        }
    }

    /// <summary>
    /// The table goes with this actor (a failing hub fails the bus, which starts a new, empty one): every subscription
    /// still open is told, never left waiting in silence.
    /// </summary>
    protected override void PostStop()
    {
        var reason = _failure is { } f
            ? $"the event bus's subscription side failed ({f.GetType().Name}: {f.Message}) and restarted without its subscriptions"
            : "the event bus stopped";
        if (_failure is not null && !_table.ById.IsEmpty)
            _log.Warning("{0}: telling {1} subscriptions to resubscribe", reason, _table.ById.Count);
        foreach (var subscription in _table.ById.Values) Tell(subscription, reason);
        base.PostStop();
    }

    private static string RetryKey(string subscriptionId) => $"replay-{subscriptionId}";

    /// <summary>From the bus: an event whose journal write is confirmed (sent in offset order).</summary>
    internal sealed record Live(TaskEvent Event);

    /// <summary>
    /// From the writer, once recovered: the journal (to read replays from) and the offset of the last event written.
    /// </summary>
    internal sealed record Resume(EventOffset Live, IActorRef Journal);

    /// <summary>From the bus, for <see cref="GetStats"/>: its decision counters; the hub replies with the whole stats.</summary>
    internal sealed record CollectStats(long DroppedDuplicates, long DroppedStale, int TrackedRuns);

    private sealed record RetryRead(string SubscriptionId);
}
