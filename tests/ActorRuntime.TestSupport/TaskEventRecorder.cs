using System.Collections.Concurrent;
using ActorRuntime.Events;
using Akka.Actor;

namespace ActorRuntime.Testing;

/// <summary>
/// Records every <see cref="TaskEvent"/> an EventBus delivers to it, through an unfiltered backend subscription. Every
/// delivery is kept, so a duplicate the bus hands out twice stays visible to the specs that count. Subscribe again after
/// the runtime restarted: the events of all subscriptions accumulate.
/// </summary>
public sealed class TaskEventRecorder
{
    private readonly ConcurrentQueue<TaskEvent> _events = new();

    /// <summary>The id of the latest subscription (for its lag in <see cref="EventBusProtocol.EventBusStats"/>).</summary>
    public string SubscriptionId { get; private set; } = "";

    /// <summary>How many deliveries arrived so far.</summary>
    public int Count => _events.Count;

    /// <summary>Everything recorded, in offset order (the backend hands different containers over in parallel).</summary>
    public IReadOnlyList<TaskEvent> Events => _events.OrderBy(e => e.Offset).ToList();

    /// <summary>
    /// Subscribes to <paramref name="bus"/>: live events only, or, with <paramref name="afterOffset"/>, the journal after
    /// that offset first (0 = from the beginning).
    /// </summary>
    public async Task SubscribeAsync(IActorRef bus, TimeSpan timeout, long? afterOffset = null)
    {
        object subscribe = afterOffset is { } after
            ? new EventBusProtocol.SubscribeBackendFrom(after, [], Record)
            : new EventBusProtocol.SubscribeBackend([], Record);
        var subscribed = await bus.Ask<EventBusProtocol.Subscribed>(subscribe, timeout).ConfigureAwait(false);
        SubscriptionId = subscribed.SubscriptionId;
    }

    /// <summary>Events of one container and topic; <paramref name="execId"/> "" is the init process, null any process.</summary>
    public IReadOnlyList<TaskEvent> EventsOf(string containerId, string topic, string? execId = "") =>
        Events.Where(e => e.ContainerId == containerId && e.Topic == topic && (execId is null || e.ExecId == execId)).ToList();

    /// <summary>One line per event, for failure messages.</summary>
    public override string ToString() =>
        _events.IsEmpty
            ? "(no events)"
            : string.Join("\n", Events.Select(e =>
                $"#{e.Offset} {e.ContainerId}{(e.IsInit ? "" : "/" + e.ExecId)} {e.Topic} pid={e.Pid} status={e.ExitStatus}"));

    private Task Record(TaskEvent e)
    {
        _events.Enqueue(e);
        return Task.CompletedTask;
    }
}
