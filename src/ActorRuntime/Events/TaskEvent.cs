using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;

namespace ActorRuntime.Events;

/// <summary>
/// One task event as ActorRuntime publishes it: containerd's fields flattened into one serializable record.
/// ExecId is empty for a container's init process (containerd's TaskExit carries the container id there instead).
/// Offset is the bus's delivery number (see <see cref="EventOffset"/>), 0 until published.
/// </summary>
public sealed record TaskEvent(
    string Namespace,
    string Topic,
    string ContainerId,
    string ExecId,
    uint Pid,
    uint ExitStatus,
    DateTimeOffset? ExitedAt,
    DateTimeOffset Timestamp,
    long Offset = 0)
{
    public bool IsInit => ExecId.Length == 0;
}
