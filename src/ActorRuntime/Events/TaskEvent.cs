using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;

namespace ActorRuntime.Events;

/// <summary>
/// One task event as ActorRuntime publishes it: containerd's fields flattened into one serializable record.
/// ExecId is empty for a container's init process (containerd's TaskExit carries the container id there instead).
/// Offset is the bus's delivery number (see <see cref="EventOffset"/>), 0 until published.
/// <para><paramref name="Payload"/>: an event that is not a task's (a container's or namespace's, or any type a client
/// publishes) carries its containerd message as it goes on the wire; the bus delivers it as it comes and it touches no run.
/// Task events carry none: their message is rebuilt from the fields.</para>
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
    long Offset = 0,
    EventPayload? Payload = null)
{
    public bool IsInit => ExecId.Length == 0;
}

/// <summary>
/// A containerd event message as an Any holds it: the bare type URL (<c>containerd.events.ContainerCreate</c>) and the
/// encoded message. Equal when both are (byte for byte).
/// </summary>
public sealed record EventPayload(string TypeUrl, byte[] Value)
{
    public bool Equals(EventPayload? other) =>
        other is not null && TypeUrl == other.TypeUrl && Value.AsSpan().SequenceEqual(other.Value);

    public override int GetHashCode() => HashCode.Combine(TypeUrl, Value.Length);
}
