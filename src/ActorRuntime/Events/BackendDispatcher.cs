using Akka.Actor;
using static ActorRuntime.Events.EventBusProtocol;

namespace ActorRuntime.Events;

/// <summary>
/// A backend subscription: routes each event to the <see cref="BackendLane"/> of its container (namespace + container id),
/// creating lanes on demand and stopping a lane once it has nothing outstanding, so lanes stay bounded by the number of
/// containers with work in progress. Ordered per container, parallel across containers.
/// </summary>
internal sealed class BackendDispatcher : ReceiveActor
{
    private readonly string _id;
    private readonly Func<TaskEvent, Task> _callback;
    private readonly TimeSpan? _timeout;
    private readonly Dictionary<string, Lane> _lanes = new(StringComparer.Ordinal);
    private long _laneCounter;
    private long _handed;
    private long _completed;
    private long _failures;
    private EventOffset _lastHanded;
    private EventOffset _lastCompleted;
    // Offsets handed to lanes and not yet finished, and the last one received: lanes finish out of order across containers.
    private readonly SortedSet<long> _unfinished = [];
    private EventOffset _lastReceived;

    public BackendDispatcher(string id, Func<TaskEvent, Task> callback, TimeSpan? timeout)
    {
        _id = id;
        _callback = callback;
        _timeout = timeout;

        Receive<Dispatch>(d =>
        {
            var key = LaneKey(d.Event);
            if (!_lanes.TryGetValue(key, out var lane))
            {
                var actor = Context.ActorOf(BackendLane.Props(key, _callback, _timeout), $"lane-{++_laneCounter}");
                lane = new Lane(actor);
                _lanes[key] = lane;
            }
            lane.Pending++;
            _unfinished.Add(d.Event.Offset);
            _lastReceived = EventOffset.Of(d.Event);
            lane.Actor.Tell(d);
        });

        Receive<BackendLane.Started>(s =>
        {
            _handed++;
            _lastHanded = EventOffset.Max(_lastHanded, s.Offset);
            Report();
        });

        Receive<BackendLane.Finished>(f =>
        {
            _completed++;
            if (f.Failed) _failures++;
            _unfinished.Remove(f.Offset.Value);
            _lastCompleted = EventOffset.Max(_lastCompleted, f.Offset);
            if (_lanes.TryGetValue(f.Lane, out var lane) && --lane.Pending == 0)
            {
                // Only this actor feeds the lane, so nothing can be in flight to it: stopping now loses nothing.
                Context.Stop(lane.Actor);
                _lanes.Remove(f.Lane);
            }
            Report();
        });
    }

    public static Props Props(string id, Func<TaskEvent, Task> callback, TimeSpan? timeout) =>
        Akka.Actor.Props.Create(() => new BackendDispatcher(id, callback, timeout));

    private static string LaneKey(TaskEvent e) => $"{e.Namespace}/{e.ContainerId}";

    private void Report() =>
        Context.Parent.Tell(new WorkerProgress(_id, _handed, _completed, _lastHanded, _lastCompleted, _failures, _lanes.Count,
            _unfinished.Count == 0 ? _lastReceived : new EventOffset(_unfinished.Min - 1)));

    private sealed class Lane(IActorRef actor)
    {
        public IActorRef Actor { get; } = actor;
        public long Pending { get; set; }
    }
}
