using System.Collections.Immutable;
using ActorRuntime.Containers;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using static ActorRuntime.Events.EventBusProtocol;

namespace ActorRuntime.Events;

/// <summary>
/// Republishes task events with exit and delete exactly once (rules in <see cref="EventBusState"/>), across restarts:
/// a persistent actor that journals every <see cref="EventDelivered"/> decision (and <see cref="RunsForgotten"/>),
/// snapshots its state every <see cref="EventBusSettings.SnapshotEvery"/> decisions and rebuilds it on recovery, so an
/// exit/delete delivered before a restart is dropped as a duplicate after it.
///
/// <para>Publishing never waits for the database: the decision is taken and applied at once against the in-memory state
/// (so a duplicate arriving while the first write is in flight is already dropped), and the event is written with
/// PersistAsync. Subscribers only ever see written events.</para>
///
/// <para>Offsets. With a read journal configured (<see cref="EventBusSettings.ReadJournal"/>, the SQL set-up), delivered
/// events are tagged <see cref="TaskEventsTag"/> and the bus feeds its subscriptions from one live
/// <c>EventsByTag</c> stream over its own journal: the offset a subscriber sees is the journal's global ordering
/// (strictly increasing; numbers used by other journal rows are skipped, never events). Replays for
/// <see cref="SubscribeFrom"/> read the same tag, so live and replayed offsets are one sequence. Without a read journal
/// (in-memory) the offset is the bus's own delivery number (1, 2, 3, ...) and events are routed right after their write.</para>
///
/// <para>Switch-over of a <see cref="SubscribeFrom"/>(N): the bus, at live position L (the last offset it routed),
/// registers the subscription for live events &gt; max(N, L) at once and buffers them, then pages the journal for
/// (N, L] (with back-pressure on the subscriber's lag); when the replay reaches L the buffer follows. Both halves are
/// cut at L, so nothing is missed or doubled.</para>
///
/// Each subscription is a child worker with its own queue (<see cref="SubscriberPump"/> for actors,
/// <see cref="BackendDispatcher"/> for callbacks), so the bus never waits for a subscriber.
/// </summary>
public sealed class EventBus : ReceivePersistentActor, IWithTimers
{
    /// <summary>Tag of every delivered event in the journal.</summary>
    public const string TaskEventsTag = "task-events";

    private const int MaxEmptyReplayPages = 50;

    private readonly EventBusSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly bool _readSide;
    private readonly Dictionary<string, Subscription> _subscriptions = new(StringComparer.Ordinal);
    private readonly Dictionary<long, IActorRef> _pendingAcks = new();
    private EventBusState _state = EventBusState.Empty; // decisions taken, written or not
    private EventBusState _durable = EventBusState.Empty; // decisions written
    private long _subscriptionCounter;
    private long _sinceSnapshot;
    private long _routedOffset; // offset of the last event routed (journal ordering, or delivery number without read side)
    private long _routedLocal; // delivery number of that event
    private long _recoveredLast; // delivery number of the last event written before this incarnation
    private bool _caughtUp;
    private int _streamGeneration;
    private IMaterializer? _materializer;
    private SqlReadJournal? _journal;
    private UniqueKillSwitch? _liveStream;

    public EventBus(EventBusSettings settings)
    {
        _settings = settings;
        _readSide = settings.ReadJournal.Length > 0;
        PersistenceId = settings.PersistenceId;
        var config = Context.System.Settings.Config;
        if (string.IsNullOrEmpty(config.GetString("akka.persistence.journal.plugin", "")))
            JournalPluginId = "akka.persistence.journal.inmem";
        if (string.IsNullOrEmpty(config.GetString("akka.persistence.snapshot-store.plugin", "")))
            SnapshotPluginId = "akka.persistence.snapshot-store.inmem";

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not EventBusSnapshot s) return;
            _state = _durable = s.ToState();
            _routedOffset = s.RoutedOffset;
            _routedLocal = s.RoutedLocal;
        });
        Recover<EventDelivered>(d => _state = _durable = EventBusState.Apply(_durable, d));
        Recover<RunsForgotten>(f => _state = _durable = EventBusState.Apply(_durable, f));
        Recover<RecoveryCompleted>(_ => OnRecovered());

        Command<Publish>(OnPublish);
        Command<Subscribe>(s => WhenCaughtUp(() => AddSubscription(null, s.Filters, s.Subscriber, null)));
        Command<SubscribeFrom>(s => WhenCaughtUp(() => AddSubscription(s.AfterOffset, s.Filters, s.Subscriber, null)));
        Command<SubscribeBackend>(s => WhenCaughtUp(() => AddSubscription(null, s.Filters, null, s.Callback)));
        Command<SubscribeBackendFrom>(s => WhenCaughtUp(() => AddSubscription(s.AfterOffset, s.Filters, null, s.Callback)));
        Command<Unsubscribe>(u => Sender.Tell(new Unsubscribed(u.SubscriptionId, Remove(u.SubscriptionId))));
        Command<GetStats>(_ => Sender.Tell(Stats()));
        Command<WorkerProgress>(OnProgress);
        Command<WorkerGaveUp>(OnWorkerGaveUp);
        Command<Terminated>(OnTerminated);
        Command<PruneTick>(_ => Prune());
        Command<LiveEnvelope>(OnLiveEnvelope);
        Command<LiveEnded>(OnLiveEnded);
        Command<RestartLive>(r => { if (r.Generation == _streamGeneration) StartLiveStream(); });
        Command<ReplayPage>(OnReplayPage);
        Command<ReplayFailed>(OnReplayFailed);
        Command<RetryReplay>(r => { if (_subscriptions.TryGetValue(r.SubscriptionId, out var sub)) RequestPage(sub); });
        Command<SaveSnapshotSuccess>(s =>
            DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "EventBus snapshot at {0} failed", f.Metadata.SequenceNr));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning(f.Cause, "Deleting old EventBus snapshots failed"));
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(EventBusSettings? settings = null) =>
        Akka.Actor.Props.Create(() => new EventBus(settings ?? EventBusSettings.Default));

    protected override void PreStart()
    {
        base.PreStart();
        Timers.StartPeriodicTimer(nameof(PruneTick), PruneTick.Instance, _settings.PruneInterval);
    }

    protected override void PostStop()
    {
        _liveStream?.Shutdown();
        base.PostStop();
    }

    /// <summary>A worker that throws is stopped (its Terminated ends the subscription) rather than restarted with an empty queue.</summary>
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(_ => Directive.Stop);

    // ---------------------------------------------------------------------------------------------------------------
    // Recovery and the live read-side stream

    private void OnRecovered()
    {
        _recoveredLast = _durable.LastOffset;
        _materializer = Context.Materializer();
        if (!_readSide)
        {
            _routedOffset = _routedLocal = _recoveredLast;
            _caughtUp = true;
            return;
        }
        _journal = PersistenceQuery.Get(Context.System).ReadJournalFor<SqlReadJournal>(_settings.ReadJournal);
        _caughtUp = _routedLocal >= _recoveredLast;
        _log.Info("EventBus {0} recovered: {1} events delivered so far, live stream resumes after offset {2}{3}",
            PersistenceId, _recoveredLast, _routedOffset, _caughtUp ? "" : " (catching up)");
        StartLiveStream();
    }

    private void StartLiveStream()
    {
        _liveStream?.Shutdown();
        var generation = ++_streamGeneration;
        var self = Self;
        var pid = PersistenceId;
        var (killSwitch, done) = _journal!
            .EventsByTag(TaskEventsTag, Offset.Sequence(_routedOffset))
            .Where(env => env.PersistenceId == pid)
            .ViaMaterialized(KillSwitches.Single<EventEnvelope>(), Keep.Right)
            .ToMaterialized(Sink.ForEach<EventEnvelope>(env => self.Tell(new LiveEnvelope(generation, env))), Keep.Both)
            .Run(_materializer!);
        _liveStream = killSwitch;
        done.PipeTo(self, success: _ => new LiveEnded(generation, null), failure: ex => new LiveEnded(generation, ex));
    }

    private void OnLiveEnded(LiveEnded ended)
    {
        if (ended.Generation != _streamGeneration) return;
        _log.Warning(ended.Error, "EventBus live stream ended; restarting it after offset {0}", _routedOffset);
        Timers.StartSingleTimer(nameof(RestartLive), new RestartLive(ended.Generation), TimeSpan.FromSeconds(1));
    }

    private void OnLiveEnvelope(LiveEnvelope live)
    {
        if (live.Generation != _streamGeneration) return;
        var offset = Ordering(live.Envelope);
        if (offset <= _routedOffset || live.Envelope.Event is not EventDelivered d) return;
        var local = d.Event.Offset;
        _routedOffset = offset;
        _routedLocal = Math.Max(_routedLocal, local);
        if (local > _recoveredLast)
        {
            var e = d.Event with { Offset = offset };
            Route(e);
            if (_pendingAcks.Remove(local, out var publisher))
                publisher.Tell(new Published(e, PublishOutcome.Delivered));
        }
        // else: written by an earlier incarnation; its subscribers are gone and resumable ones replay it.
        if (!_caughtUp && _routedLocal >= _recoveredLast)
        {
            _caughtUp = true;
            _log.Debug("EventBus caught up at offset {0}", _routedOffset);
            Stash.UnstashAll();
        }
    }

    private static long Ordering(EventEnvelope env) => env.Offset is Sequence s
        ? s.Value
        : throw new InvalidOperationException($"read journal returned a {env.Offset.GetType().Name} offset; a Sequence was expected");

    private void WhenCaughtUp(Action action)
    {
        if (_caughtUp) action();
        else Stash.Stash();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Publishing

    private void OnPublish(Publish publish)
    {
        var decision = EventBusState.Decide(_state, publish.Event, Context.System.Scheduler.Now, _settings.Retention);
        _state = EventBusState.Apply(_state, decision);
        switch (decision)
        {
            case EventDelivered delivered:
                var publisher = publish.WantAck ? Sender : null;
                if (publisher is not null && _readSide)
                    _pendingAcks[delivered.Event.Offset] = publisher;
                PersistAsync(delivered, d => OnWritten(d, publisher));
                break;
            case EventDropped dropped:
                _log.Debug("Dropped {0} {1}: {2}", dropped.Reason, dropped.Event.Topic, dropped.Detail);
                if (publish.WantAck)
                {
                    var outcome = dropped.Reason == DropReason.Duplicate ? PublishOutcome.DroppedDuplicate : PublishOutcome.DroppedStale;
                    Sender.Tell(new Published(dropped.Event, outcome));
                }
                break;
            default:
                throw new InvalidOperationException($"unknown decision {decision}");
        }
    }

    private void OnWritten(EventDelivered d, IActorRef? publisher)
    {
        _durable = EventBusState.Apply(_durable, d);
        if (!_readSide)
        {
            _routedOffset = _routedLocal = d.Event.Offset;
            Route(d.Event);
            publisher?.Tell(new Published(d.Event, PublishOutcome.Delivered));
        }
        MaybeSnapshot();
    }

    private void MaybeSnapshot()
    {
        if (_settings.SnapshotEvery <= 0 || ++_sinceSnapshot < _settings.SnapshotEvery) return;
        _sinceSnapshot = 0;
        // Only written decisions; the routed position is never ahead of them, so a restart resumes the stream correctly.
        SaveSnapshot(EventBusSnapshot.Of(_durable, Math.Min(_routedOffset, _readSide ? _routedOffset : _durable.LastOffset),
            Math.Min(_routedLocal, _durable.LastOffset)));
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        // The in-memory decision state already counts this event; take it back from what is actually written.
        _state = _durable;
        if (@event is EventDelivered d && _pendingAcks.Remove(d.Event.Offset, out var publisher))
            publisher.Tell(new Status.Failure(cause));
    }

    private void Prune()
    {
        if (EventBusState.DecidePrune(_state, Context.System.Scheduler.Now, _settings.Retention) is not { } forgotten) return;
        _state = EventBusState.Apply(_state, forgotten);
        PersistAsync(forgotten, f =>
        {
            _durable = EventBusState.Apply(_durable, f);
            MaybeSnapshot();
        });
        _log.Debug("Forgot {0} finished runs; {1} tracked", forgotten.Keys.Count, _state.Runs.Count);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Routing and subscriptions

    private void Route(TaskEvent e)
    {
        foreach (var sub in _subscriptions.Values)
        {
            if (e.Offset <= sub.StartAfter || !sub.Filter.Matches(e)) continue;
            if (sub.CatchUp is { } catchUp)
            {
                catchUp.Buffer.Enqueue(e);
                if (_settings.MaxQueuedPerSubscriber > 0 && catchUp.Buffer.Count > _settings.MaxQueuedPerSubscriber)
                    GiveUp(sub, $"more than {_settings.MaxQueuedPerSubscriber} live events arrived while replaying");
                continue;
            }
            Dispatch(sub, e);
        }
    }

    private static void Dispatch(Subscription sub, TaskEvent e)
    {
        sub.Worker.Tell(new Dispatch(e));
        sub.Enqueued++;
    }

    private void AddSubscription(long? afterOffset, IReadOnlyList<string> filters, IActorRef? subscriber, Func<TaskEvent, Task>? callback)
    {
        if (!TryParse(filters, out var filter)) return;
        var live = _routedOffset;
        if (afterOffset is { } after && after < live && !_readSide)
        {
            Sender.Tell(new Status.Failure(new NotSupportedException(
                $"cannot replay events after offset {after}: no read journal is configured (in-memory persistence); " +
                $"subscribe from {live} or later")));
            return;
        }

        var id = NextId();
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

        var sub = new Subscription(id, subscriber is null ? SubscriptionKind.Backend : SubscriptionKind.Actor, filter,
            filters.ToList(), worker, subscriber)
        {
            StartAfter = Math.Max(afterOffset ?? live, live),
        };
        if (afterOffset is { } from && from < live)
            sub.CatchUp = new CatchUpState(from, live);
        _subscriptions[id] = sub;
        Sender.Tell(new Subscribed(id));
        if (sub.CatchUp is not null)
            RequestPage(sub);
    }

    private void RequestPage(Subscription sub)
    {
        if (sub.CatchUp is not { FetchInFlight: false } c || _journal is null) return;
        c.FetchInFlight = true;
        var id = sub.Id;
        var from = c.Position;
        var until = c.Until;
        var pid = PersistenceId;
        _journal.CurrentEventsByTag(TaskEventsTag, Offset.Sequence(from))
            .Where(env => env.PersistenceId == pid)
            .TakeWhile(env => Ordering(env) <= until)
            .Take(_settings.ReplayPageSize)
            .RunWith(Sink.Seq<EventEnvelope>(), _materializer!)
            .PipeTo(Self, success: page => new ReplayPage(id, from, page), failure: ex => new ReplayFailed(id, ex));
    }

    private void OnReplayPage(ReplayPage page)
    {
        if (!_subscriptions.TryGetValue(page.SubscriptionId, out var sub) || sub.CatchUp is not { } c || c.Position != page.From)
            return;
        c.FetchInFlight = false;
        foreach (var env in page.Envelopes)
        {
            var offset = Ordering(env);
            if (offset <= c.Position || offset > c.Until || env.Event is not EventDelivered d) continue;
            c.Position = offset;
            var e = d.Event with { Offset = offset };
            if (sub.Filter.Matches(e)) Dispatch(sub, e);
        }

        if (c.Position >= c.Until)
        {
            sub.CatchUp = null;
            while (c.Buffer.TryDequeue(out var e)) Dispatch(sub, e);
            _log.Debug("Subscription {0} replayed up to {1}; live from here", sub.Id, c.Until);
            return;
        }
        if (page.Envelopes.Count == 0)
        {
            // The journal has not shown us events we know were written (PostgreSQL may still hide in-flight rows): retry.
            if (++c.EmptyPages > MaxEmptyReplayPages)
            {
                GiveUp(sub, $"the journal returned nothing after offset {c.Position} though events up to {c.Until} exist");
                return;
            }
            Timers.StartSingleTimer($"replay-{sub.Id}", new RetryReplay(sub.Id), TimeSpan.FromMilliseconds(100));
            return;
        }
        c.EmptyPages = 0;
        MaybeRequestPage(sub);
    }

    /// <summary>Back-pressure: fetch the next page only when the worker has drained most of what it got.</summary>
    private void MaybeRequestPage(Subscription sub)
    {
        if (sub.CatchUp is { FetchInFlight: false } && sub.Enqueued - (sub.Progress?.Completed ?? 0) <= _settings.ReplayPageSize)
            RequestPage(sub);
    }

    private void OnReplayFailed(ReplayFailed failed)
    {
        if (!_subscriptions.TryGetValue(failed.SubscriptionId, out var sub) || sub.CatchUp is not { } c) return;
        c.FetchInFlight = false;
        _log.Warning(failed.Error, "Subscription {0}: replay after offset {1} failed; retrying", sub.Id, c.Position);
        if (++c.EmptyPages > MaxEmptyReplayPages)
            GiveUp(sub, $"replay after offset {c.Position} keeps failing: {failed.Error.Message}");
        else
            Timers.StartSingleTimer($"replay-{sub.Id}", new RetryReplay(sub.Id), TimeSpan.FromMilliseconds(500));
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

    private void OnProgress(WorkerProgress p)
    {
        if (!_subscriptions.TryGetValue(p.SubscriptionId, out var sub)) return;
        sub.Progress = p;
        MaybeRequestPage(sub);
    }

    private void OnWorkerGaveUp(WorkerGaveUp g)
    {
        if (_subscriptions.TryGetValue(g.SubscriptionId, out var sub)) GiveUp(sub, g.Reason);
    }

    private void GiveUp(Subscription sub, string reason)
    {
        _log.Warning("Subscription {0}: {1}; cancelling it", sub.Id, reason);
        Remove(sub.Id);
        sub.Subscriber?.Tell(new SubscriptionCancelled(sub.Id, reason));
    }

    private void OnTerminated(Terminated t)
    {
        foreach (var sub in _subscriptions.Values.Where(s => s.Worker.Equals(t.ActorRef) || t.ActorRef.Equals(s.Subscriber)).ToList())
        {
            if (sub.Worker.Equals(t.ActorRef))
                _log.Warning("Subscription {0} ({1}) lost its worker; removing it", sub.Id, sub.Kind);
            Remove(sub.Id);
        }
    }

    private string NextId() => (++_subscriptionCounter).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private bool Remove(string id)
    {
        if (!_subscriptions.Remove(id, out var sub)) return false;
        Timers.Cancel($"replay-{id}");
        Context.Unwatch(sub.Worker);
        Context.Stop(sub.Worker);
        if (sub.Subscriber is { } subscriber && !_subscriptions.Values.Any(s => subscriber.Equals(s.Subscriber)))
            Context.Unwatch(subscriber);
        return true;
    }

    private EventBusStats Stats() => new(
        _readSide ? _routedOffset : _state.LastOffset,
        _state.DroppedDuplicates,
        _state.DroppedStale,
        _state.Runs.Count,
        _subscriptions.Values
            .OrderBy(s => long.Parse(s.Id, System.Globalization.CultureInfo.InvariantCulture))
            .Select(s => new SubscriptionStats(
                s.Id, s.Kind, s.Filters, s.Enqueued,
                s.Progress?.Handed ?? 0, s.Progress?.Completed ?? 0,
                s.Progress?.LastHandedOffset ?? 0, s.Progress?.LastCompletedOffset ?? 0,
                s.Progress?.Failures ?? 0, s.Progress?.ActiveContainers ?? 0))
            .ToList());

    private sealed class Subscription(
        string id,
        SubscriptionKind kind,
        EventFilter filter,
        IReadOnlyList<string> filters,
        IActorRef worker,
        IActorRef? subscriber)
    {
        public string Id { get; } = id;
        public SubscriptionKind Kind { get; } = kind;
        public EventFilter Filter { get; } = filter;
        public IReadOnlyList<string> Filters { get; } = filters;
        public IActorRef Worker { get; } = worker;
        public IActorRef? Subscriber { get; } = subscriber;

        /// <summary>Live events at or below this offset are not for this subscription (replayed, or before it began).</summary>
        public long StartAfter { get; init; }

        public long Enqueued { get; set; }
        public WorkerProgress? Progress { get; set; }

        /// <summary>Set while replaying (Position, Until]; live events wait in its buffer.</summary>
        public CatchUpState? CatchUp { get; set; }
    }

    private sealed class CatchUpState(long position, long until)
    {
        public long Position { get; set; } = position;
        public long Until { get; } = until;
        public Queue<TaskEvent> Buffer { get; } = new();
        public bool FetchInFlight { get; set; }
        public int EmptyPages { get; set; }
    }

    private sealed record LiveEnvelope(int Generation, EventEnvelope Envelope);

    private sealed record LiveEnded(int Generation, Exception? Error);

    private sealed record RestartLive(int Generation);

    private sealed record ReplayPage(string SubscriptionId, long From, IImmutableList<EventEnvelope> Envelopes);

    private sealed record ReplayFailed(string SubscriptionId, Exception Error);

    private sealed record RetryReplay(string SubscriptionId);

    private sealed record PruneTick
    {
        public static readonly PruneTick Instance = new();
    }
}
