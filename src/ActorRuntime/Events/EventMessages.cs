using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Events;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ActorRuntime.Events;

/// <summary>
/// containerd's event messages (an Any in an envelope) and our <see cref="TaskEvent"/>, both ways. The task types the bus
/// knows are flattened into its fields, so its exactly-once rules and its filters apply to them; any other type is kept
/// whole as the event's <see cref="EventPayload"/>.
/// </summary>
internal static class EventMessages
{
    /// <summary>
    /// A task event's fields; null for a type that is not one of containerd's task events, or one sent under another topic
    /// than its own (its message could not be rebuilt from the topic: it is kept whole instead, by <see cref="Of(string, string, DateTimeOffset, Any, string)"/>).
    /// </summary>
    public static TaskEvent? TaskEventOf(string ns, string topic, DateTimeOffset at, Any any) =>
        TypeUrls.UnpackTaskEvent(any) is { } message && TopicOf(message) == topic ? Flatten(ns, topic, at, message) : null;

    /// <summary>The topic containerd publishes a task event message under.</summary>
    private static string TopicOf(IMessage message) => message switch
    {
        TaskCreate => Topics.Create,
        TaskStart => Topics.Start,
        TaskExit => Topics.Exit,
        TaskDelete => Topics.Delete,
        TaskOOM => Topics.Oom,
        TaskExecAdded => Topics.ExecAdded,
        TaskExecStarted => Topics.ExecStarted,
        TaskPaused => Topics.Paused,
        TaskResumed => Topics.Resumed,
        TaskCheckpointed => Topics.Checkpointed,
        _ => "",
    };

    private static TaskEvent? Flatten(string ns, string topic, DateTimeOffset at, IMessage message) =>
        message switch
        {
            TaskCreate e => new TaskEvent(ns, topic, e.ContainerId, "", e.Pid, 0, null, at),
            TaskStart e => new TaskEvent(ns, topic, e.ContainerId, "", e.Pid, 0, null, at),
            // For the init process TaskExit.id is the container id; ours is empty.
            TaskExit e => new TaskEvent(ns, topic, e.ContainerId, e.Id == e.ContainerId ? "" : e.Id, e.Pid,
                e.ExitStatus, GoTime.ToDateTimeOffset(e.ExitedAt), at),
            TaskDelete e => new TaskEvent(ns, topic, e.ContainerId, e.Id == e.ContainerId ? "" : e.Id, e.Pid,
                e.ExitStatus, GoTime.ToDateTimeOffset(e.ExitedAt), at),
            TaskOOM e => new TaskEvent(ns, topic, e.ContainerId, "", 0, 0, null, at),
            TaskExecAdded e => new TaskEvent(ns, topic, e.ContainerId, e.ExecId, 0, 0, null, at),
            TaskExecStarted e => new TaskEvent(ns, topic, e.ContainerId, e.ExecId, e.Pid, 0, null, at),
            TaskPaused e => new TaskEvent(ns, topic, e.ContainerId, "", 0, 0, null, at),
            TaskResumed e => new TaskEvent(ns, topic, e.ContainerId, "", 0, 0, null, at),
            TaskCheckpointed e => new TaskEvent(ns, topic, e.ContainerId, "", 0, 0, null, at),
            _ => null,
        };

    /// <summary>Any event: a task event's fields, or the message kept whole (<paramref name="id"/> fills ContainerId for filters and ordering).</summary>
    public static TaskEvent Of(string ns, string topic, DateTimeOffset at, Any any, string id = "") =>
        TaskEventOf(ns, topic, at, any) ?? new TaskEvent(ns, topic, id, "", 0, 0, null, at,
            Payload: new EventPayload(any.TypeUrl, any.Value.ToByteArray()));

    /// <summary>A message of ours (a container's or namespace's event) kept whole, under its bare type URL.</summary>
    public static TaskEvent Of(string ns, string topic, DateTimeOffset at, IMessage message, string id = "") =>
        Of(ns, topic, at, TypeUrls.Pack(message), id);

    /// <summary>
    /// The message as containerd sends it, under its bare type URL (dockerd decodes by it): the payload as it came, or the
    /// task event rebuilt from its fields by topic. TaskExit.id is the exec id, or the container id for the init.
    /// </summary>
    public static Any ToAny(TaskEvent e)
    {
        if (e.Payload is { } payload) return new Any { TypeUrl = payload.TypeUrl, Value = ByteString.CopyFrom(payload.Value) };
        var id = e.IsInit ? e.ContainerId : e.ExecId;
        IMessage message = e.Topic switch
        {
            Topics.Create => new TaskCreate { ContainerId = e.ContainerId, Pid = e.Pid },
            Topics.Start => new TaskStart { ContainerId = e.ContainerId, Pid = e.Pid },
            Topics.Exit => new TaskExit
            {
                ContainerId = e.ContainerId, Id = id, Pid = e.Pid, ExitStatus = e.ExitStatus, ExitedAt = GoTime.From(e.ExitedAt),
            },
            Topics.Delete => new TaskDelete
            {
                ContainerId = e.ContainerId, Id = id, Pid = e.Pid, ExitStatus = e.ExitStatus, ExitedAt = GoTime.From(e.ExitedAt),
            },
            Topics.Oom => new TaskOOM { ContainerId = e.ContainerId },
            Topics.ExecAdded => new TaskExecAdded { ContainerId = e.ContainerId, ExecId = e.ExecId },
            Topics.ExecStarted => new TaskExecStarted { ContainerId = e.ContainerId, ExecId = e.ExecId, Pid = e.Pid },
            Topics.Paused => new TaskPaused { ContainerId = e.ContainerId },
            Topics.Resumed => new TaskResumed { ContainerId = e.ContainerId },
            Topics.Checkpointed => new TaskCheckpointed { ContainerId = e.ContainerId },
            _ => throw new ArgumentException($"task event {e.Topic} has no containerd message", nameof(e)),
        };
        return TypeUrls.Pack(message);
    }
}
