using Akka.Actor;
using Akka.Event;
using static ActorRuntime.Events.EventBusProtocol;

namespace ActorRuntime.Events;

/// <summary>
/// One container's lane of a backend subscription: runs the callback for that container's events strictly in order,
/// one at a time (moby's per-container queue). The callback runs on the thread pool (Task.Run) and its completion is piped
/// back, so a slow or synchronously blocking callback never blocks this actor, its parent, or other lanes.
/// </summary>
internal sealed class BackendLane : ReceiveActor
{
    private readonly string _lane;
    private readonly Func<TaskEvent, Task> _callback;
    private readonly TimeSpan? _timeout;
    private readonly Queue<TaskEvent> _queue = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private bool _busy;

    public BackendLane(string lane, Func<TaskEvent, Task> callback, TimeSpan? timeout)
    {
        _lane = lane;
        _callback = callback;
        _timeout = timeout;

        Receive<Dispatch>(d =>
        {
            _queue.Enqueue(d.Event);
            TryRun();
        });

        Receive<CallbackDone>(done =>
        {
            _busy = false;
            if (done.Error is { } error)
            {
                _log.Warning(error, "Backend callback failed for {0} at offset {1} ({2})", _lane, done.Event.Offset, done.Event.Topic);
            }
            Context.Parent.Tell(new Finished(_lane, EventOffset.Of(done.Event), done.Error is not null));
            TryRun();
        });
    }

    public static Props Props(string lane, Func<TaskEvent, Task> callback, TimeSpan? timeout) =>
        Akka.Actor.Props.Create(() => new BackendLane(lane, callback, timeout));

    private void TryRun()
    {
        if (_busy || _queue.Count == 0) return;
        var e = _queue.Dequeue();
        _busy = true;
        Context.Parent.Tell(new Started(_lane, EventOffset.Of(e)));
        Invoke(_callback, e, _timeout).PipeTo(Self,
            success: () => new CallbackDone(e, null),
            failure: ex => new CallbackDone(e, ex));
    }

    private static Task Invoke(Func<TaskEvent, Task> callback, TaskEvent e, TimeSpan? timeout)
    {
        var task = Task.Run(() => callback(e));
        return timeout is { } t ? task.WaitAsync(t) : task;
    }

    /// <summary>The callback for Offset began (to the parent).</summary>
    internal sealed record Started(string Lane, EventOffset Offset);

    /// <summary>The callback for Offset ended (to the parent).</summary>
    internal sealed record Finished(string Lane, EventOffset Offset, bool Failed);

    private sealed record CallbackDone(TaskEvent Event, Exception? Error);
}
