// TEMPORARY until client-embedded's ProcessIo factory, stats decoder and event mapping are merged; replaced then.
using ActorRuntime.Events;
using ActorRuntime.Io;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Cgroups.V1;
using ActorRuntime.Tasks;

namespace ActorRuntime.Client.Remote;

internal static class StatsDecoder
{
    public static ContainerStats Decode(string id, DateTimeOffset read, string typeUrl, byte[] raw)
    {
        var m = Metrics.Parser.ParseFrom(raw);
        return new ContainerStats(id, read, 1, m.Cpu?.Usage?.Total ?? 0, m.Cpu?.Usage?.User ?? 0, m.Cpu?.Usage?.Kernel ?? 0,
            m.Memory?.Usage?.Usage ?? 0, m.Memory?.Usage?.Limit ?? 0, m.Memory?.Cache ?? 0, m.Pids?.Current ?? 0, m.Pids?.Limit ?? 0, 0, 0);
    }
}

internal static class ContainerEvents
{
    public static ContainerEvent? Of(TaskEvent e)
    {
        ContainerEventKind? kind = e.Topic switch
        {
            Topics.Create => ContainerEventKind.Create,
            Topics.Start => ContainerEventKind.Start,
            Topics.Exit => ContainerEventKind.Exit,
            Topics.Oom => ContainerEventKind.Oom,
            Topics.ExecAdded => ContainerEventKind.ExecAdded,
            Topics.ExecStarted => ContainerEventKind.ExecStarted,
            Topics.Paused => ContainerEventKind.Paused,
            Topics.Resumed => ContainerEventKind.Resumed,
            Topics.Delete => ContainerEventKind.Delete,
            _ => null,
        };
        return kind is { } k
            ? new ContainerEvent(e.Offset, e.Namespace, k, e.ContainerId, e.IsInit ? null : e.ExecId, e.Pid, e.ExitStatus, e.Timestamp)
            : null;
    }
}
