using System.Text.Json.Nodes;
using ActorRuntime.Events;
using Akka.Actor;

namespace ActorRuntime.Host;

/// <summary>
/// Everything the EventBus delivered since this host started, in offset order, each tagged with its bus Offset.
/// Subscribes as a backend (callback) subscriber with no filter; every event is kept (for the <c>events</c> request) and,
/// unless disabled, streamed as an <c>{"event":{...}}</c> line.
/// </summary>
internal sealed class EventFeed(Action<JsonObject>? stream)
{
    private readonly List<TaskEvent> _events = [];
    private readonly Lock _lock = new();

    public async Task SubscribeAsync(IActorRef bus, TimeSpan timeout)
    {
        // When the journal lands: EventBusProtocol.SubscribeFrom(lastOffsetSeen, ...), so nothing published between two
        // host generations (or before this subscription) is missed.
        await bus.Ask<EventBusProtocol.Subscribed>(new EventBusProtocol.SubscribeBackend([], OnEvent), timeout);
    }

    /// <summary>Fire-and-forget subscribe, for use inside actor start-up (before the ShimManager starts reloading).</summary>
    public void SubscribeNow(IActorRef bus) => bus.Tell(new EventBusProtocol.SubscribeBackend([], OnEvent), ActorRefs.NoSender);

    private Task OnEvent(TaskEvent e)
    {
        lock (_lock) _events.Add(e);
        stream?.Invoke(new JsonObject { ["event"] = ToJson(e) });
        return Task.CompletedTask;
    }

    public IReadOnlyList<TaskEvent> Snapshot()
    {
        lock (_lock) return _events.OrderBy(e => e.Offset).ToList();
    }

    public static JsonObject ToJson(TaskEvent e) => new()
    {
        ["offset"] = e.Offset,
        ["namespace"] = e.Namespace,
        ["topic"] = e.Topic,
        ["containerId"] = e.ContainerId,
        ["execId"] = e.ExecId,
        ["pid"] = e.Pid,
        ["exitStatus"] = e.ExitStatus,
        ["exitedAt"] = e.ExitedAt?.ToString("o"),
        ["timestamp"] = e.Timestamp.ToString("o"),
    };
}
