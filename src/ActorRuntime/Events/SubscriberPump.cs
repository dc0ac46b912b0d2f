using Akka.Actor;
using Akka.Event;
using static ActorRuntime.Events.EventBusProtocol;

namespace ActorRuntime.Events;

/// <summary>
/// Delivers one actor subscription's events in offset order. Keeps its own queue so a slow subscriber never holds up the
/// bus or other subscribers: at most <c>maxInFlight</c> events are un-acked at a time (subscriber replies
/// <see cref="Ack"/>, cumulative), the rest wait here. Reports its counters to its parent (the
/// <see cref="SubscriptionHub"/>) after every change. Past <c>maxQueued</c> queued events it gives up and the hub cancels
/// the subscription.
/// </summary>
internal sealed class SubscriberPump : ReceiveActor
{
    private readonly string _id;
    private readonly IActorRef _subscriber;
    private readonly int _maxInFlight;
    private readonly int _maxQueued;
    private readonly Queue<TaskEvent> _queue = new();
    private readonly Queue<EventOffset> _inFlight = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _handed;
    private long _completed;
    private EventOffset _lastHanded;
    private EventOffset _lastCompleted;
    private bool _gaveUp;

    public SubscriberPump(string id, IActorRef subscriber, int maxInFlight, int maxQueued)
    {
        _id = id;
        _subscriber = subscriber;
        _maxInFlight = Math.Max(1, maxInFlight);
        _maxQueued = maxQueued;

        Receive<Dispatch>(d =>
        {
            if (_gaveUp) return;
            _queue.Enqueue(d.Event);
            if (_maxQueued > 0 && _queue.Count > _maxQueued)
            {
                _gaveUp = true;
                _queue.Clear();
                var reason = $"subscriber {_subscriber.Path} fell more than {_maxQueued} events behind";
                _log.Warning("Subscription {0}: {1}; cancelling it", _id, reason);
                Context.Parent.Tell(new WorkerGaveUp(_id, reason));
                return;
            }
            Pump();
            Report();
        });

        Receive<Ack>(a =>
        {
            var before = _completed;
            var acked = new EventOffset(a.Offset);
            while (_inFlight.Count > 0 && _inFlight.Peek() <= acked)
            {
                _lastCompleted = _inFlight.Dequeue();
                _completed++;
            }
            if (_completed == before) return; // stale or unknown ack
            Pump();
            Report();
        });
    }

    public static Props Props(string id, IActorRef subscriber, int maxInFlight, int maxQueued) =>
        Akka.Actor.Props.Create(() => new SubscriberPump(id, subscriber, maxInFlight, maxQueued));

    private void Pump()
    {
        while (_inFlight.Count < _maxInFlight && _queue.Count > 0)
        {
            var e = _queue.Dequeue();
            _subscriber.Tell(e, Self);
            _inFlight.Enqueue(EventOffset.Of(e));
            _handed++;
            _lastHanded = EventOffset.Of(e);
        }
    }

    private void Report() =>
        // Delivered in order and acked cumulatively: the last ack is where everything before is handled.
        Context.Parent.Tell(new WorkerProgress(_id, _handed, _completed, _lastHanded, _lastCompleted, 0, 0, _lastCompleted));
}
