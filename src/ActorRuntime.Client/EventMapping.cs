using ActorRuntime.Events;

namespace ActorRuntime.Client;

/// <summary>The bus's task events as a host sees them; pure.</summary>
public static class EventMapping
{
    private static readonly IReadOnlyDictionary<string, ContainerEventKind> Kinds = new Dictionary<string, ContainerEventKind>
    {
        [Topics.Create] = ContainerEventKind.Create,
        [Topics.Start] = ContainerEventKind.Start,
        [Topics.Exit] = ContainerEventKind.Exit,
        [Topics.Oom] = ContainerEventKind.Oom,
        [Topics.ExecAdded] = ContainerEventKind.ExecAdded,
        [Topics.ExecStarted] = ContainerEventKind.ExecStarted,
        [Topics.Paused] = ContainerEventKind.Paused,
        [Topics.Resumed] = ContainerEventKind.Resumed,
        [Topics.Delete] = ContainerEventKind.Delete,
    };

    /// <summary>The host's event, or null for another namespace's or a topic a host does not handle (checkpointed).</summary>
    public static ContainerEvent? ToContainerEvent(TaskEvent e, string @namespace) =>
        e.Namespace == @namespace && Kinds.TryGetValue(e.Topic, out var kind)
            ? new ContainerEvent(e.Offset, e.Namespace, kind, e.ContainerId, e.ExecId.Length == 0 ? null : e.ExecId, e.Pid,
                e.ExitStatus, e.ExitedAt ?? e.Timestamp)
            : null;
}
