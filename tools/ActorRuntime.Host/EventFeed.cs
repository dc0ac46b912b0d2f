using System.Text.Json.Nodes;
using ActorRuntime.Events;
using Akka.Actor;

namespace ActorRuntime.Host;

/// <summary>
/// Everything in the EventBus's journal, in offset order, each tagged with its Offset (the bus's delivery number).
/// Subscribes as a backend (callback) subscriber from offset 0 with no filter; every event is kept (for the
/// <c>events</c> request) and, unless disabled, streamed as an <c>{"event":{...}}</c> line.
/// </summary>
internal sealed class EventFeed(Action<JsonObject>? stream)
{
    private readonly List<TaskEvent> _events = [];
    private readonly Lock _lock = new();

    /// <summary>
    /// Subscribes from the start of the event journal: every event ever delivered, then live ones. An event delivered
    /// by an earlier host generation comes again with the same offset, so readers can tell a replay from a new publish.
    /// </summary>
    public void SubscribeNow(IActorRef bus) =>
        bus.Tell(new EventBusProtocol.SubscribeBackendFrom(0, [], OnEvent), ActorRefs.NoSender);

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
