namespace ActorRuntime.Shims;

/// <summary>
/// What the shim binary's <c>delete</c> reports about the container's init: its pid (0 when init.pid could not be read,
/// Go's -1 on the wire), the exit status (137: delete kills what is left) and when it ended.
/// </summary>
public sealed record ShimDeleteResult(uint Pid, uint ExitStatus, DateTimeOffset ExitedAt)
{
    internal static ShimDeleteResult From(Protocol.Shim.DeleteResponse r) =>
        new(r.Pid == uint.MaxValue ? 0 : r.Pid, r.ExitStatus, Protocol.GoTime.ToDateTimeOffset(r.ExitedAt) ?? DateTimeOffset.UtcNow);
}

/// <summary>
/// The runc shim's options (containerd's runc.v1.Options, the fields we set): which runc binary, its state root, and the
/// cgroup the shim moves itself into. Empty strings leave the shim's defaults.
/// </summary>
public sealed record RuncOptions(string BinaryName = "", string Root = "", string ShimCgroup = "")
{
    internal Protocol.Runc.Options ToProtobuf() => new() { BinaryName = BinaryName, Root = Root, ShimCgroup = ShimCgroup };
}
