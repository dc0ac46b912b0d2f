using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using static ActorRuntime.Events.EventBusProtocol;

namespace ActorRuntime.Events;

/// <summary>
/// Republishes task events with exit and delete exactly once per process run (rules in <see cref="EventBusState"/>),
/// assigns the global offset, and fans delivered events out to subscriptions. Each subscription is a child worker with its
/// own queue (<see cref="SubscriberPump"/> for actors, <see cref="BackendDispatcher"/> for callbacks), so the bus only
/// decides and routes and never waits for a subscriber. Subscriber termination removes its subscriptions.
/// </summary>
public sealed class EventBus : ReceiveActor, IWithTimers
{
    private readonly EventBusSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private EventBusState _state = EventBusState.Empty;
    private ImmutableDictionary<string, Subscription> _subscriptions = ImmutableDictionary<string, Subscription>.Empty;
    private long _subscriptionCounter;

    public EventBus(EventBusSettings settings)
    {
        _settings = settings;

        Receive<Publish>(OnPublish);
        Receive<Subscribe>(OnSubscribe);
        Receive<SubscribeBackend>(OnSubscribeBackend);
        Receive<Unsubscribe>(u => Sender.Tell(new Unsubscribed(u.SubscriptionId, Remove(u.SubscriptionId))));
        Receive<GetStats>(_ => Sender.Tell(Stats()));
        Receive<WorkerProgress>(OnProgress);
        Receive<WorkerGaveUp>(OnWorkerGaveUp);
        Receive<Terminated>(OnTerminated);
        Receive<PruneTick>(_ => Prune());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(EventBusSettings? settings = null) =>
        Akka.Actor.Props.Create(() => new EventBus(settings ?? EventBusSettings.Default));

    protected override void PreStart() =>
        Timers.StartPeriodicTimer(nameof(PruneTick), PruneTick.Instance, _settings.PruneInterval);

    /// <summary>A worker that throws is stopped (its Terminated ends the subscription) rather than restarted with an empty queue.</summary>
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(_ => Directive.Stop);

    private void OnPublish(Publish publish)
    {
        var decision = EventBusState.Decide(_state, publish.Event, Context.System.Scheduler.Now, _settings.Retention);
        _state = EventBusState.Apply(_state, decision);

        PublishOutcome outcome;
        switch (decision)
        {
            case EventDelivered delivered:
                outcome = PublishOutcome.Delivered;
                Route(delivered.Event);
                break;
            case EventDropped dropped:
                outcome = dropped.Reason == DropReason.Duplicate ? PublishOutcome.DroppedDuplicate : PublishOutcome.DroppedStale;
                _log.Debug("Dropped {0} {1}: {2}", dropped.Reason, dropped.Event.Topic, dropped.Detail);
                break;
            default:
                throw new InvalidOperationException($"unknown decision {decision}");
        }

        if (publish.WantAck)
            Sender.Tell(new Published(decision.Event, outcome));
    }

    private void Route(TaskEvent e)
    {
        foreach (var sub in _subscriptions.Values)
        {
            if (!sub.Filter.Matches(e)) continue;
            sub.Worker.Tell(new Dispatch(e));
            _subscriptions = _subscriptions.SetItem(sub.Id, sub with { Enqueued = sub.Enqueued + 1 });
        }
    }

    private void OnSubscribe(Subscribe subscribe)
    {
        if (!TryParse(subscribe.Filters, out var filter)) return;
        var id = NextId();
        var worker = Context.ActorOf(
            SubscriberPump.Props(id, subscribe.Subscriber, _settings.MaxInFlightPerSubscriber, _settings.MaxQueuedPerSubscriber),
            $"sub-{id}");
        Context.Watch(worker);
        Context.Watch(subscribe.Subscriber);
        Add(new Subscription(id, SubscriptionKind.Actor, filter, subscribe.Filters.ToList(), worker, subscribe.Subscriber));
        Sender.Tell(new Subscribed(id));
    }

    private void OnSubscribeBackend(SubscribeBackend subscribe)
    {
        if (!TryParse(subscribe.Filters, out var filter)) return;
        var id = NextId();
        var worker = Context.ActorOf(
            BackendDispatcher.Props(id, subscribe.Callback, _settings.BackendCallbackTimeout), $"backend-{id}");
        Context.Watch(worker);
        Add(new Subscription(id, SubscriptionKind.Backend, filter, subscribe.Filters.ToList(), worker, null));
        Sender.Tell(new Subscribed(id));
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
        if (_subscriptions.TryGetValue(p.SubscriptionId, out var sub))
            _subscriptions = _subscriptions.SetItem(sub.Id, sub with { Progress = p });
    }

    private void OnWorkerGaveUp(WorkerGaveUp g)
    {
        if (!_subscriptions.TryGetValue(g.SubscriptionId, out var sub)) return;
        Remove(g.SubscriptionId);
        sub.Subscriber?.Tell(new SubscriptionCancelled(g.SubscriptionId, g.Reason));
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

    private void Prune()
    {
        if (EventBusState.DecidePrune(_state, Context.System.Scheduler.Now, _settings.Retention) is not { } forgotten) return;
        _state = EventBusState.Apply(_state, forgotten);
        _log.Debug("Forgot {0} finished runs; {1} tracked", forgotten.Keys.Count, _state.Runs.Count);
    }

    private string NextId() => (++_subscriptionCounter).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private void Add(Subscription sub) => _subscriptions = _subscriptions.SetItem(sub.Id, sub);

    private bool Remove(string id)
    {
        if (!_subscriptions.TryGetValue(id, out var sub)) return false;
        _subscriptions = _subscriptions.Remove(id);
        Context.Unwatch(sub.Worker);
        Context.Stop(sub.Worker);
        if (sub.Subscriber is { } subscriber && !_subscriptions.Values.Any(s => subscriber.Equals(s.Subscriber)))
            Context.Unwatch(subscriber);
        return true;
    }

    private EventBusStats Stats() => new(
        _state.LastOffset,
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

    private sealed record Subscription(
        string Id,
        SubscriptionKind Kind,
        EventFilter Filter,
        IReadOnlyList<string> Filters,
        IActorRef Worker,
        IActorRef? Subscriber,
        long Enqueued = 0,
        WorkerProgress? Progress = null);

    private sealed record PruneTick
    {
        public static readonly PruneTick Instance = new();
    }
}
