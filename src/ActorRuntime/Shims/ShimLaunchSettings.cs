namespace ActorRuntime.Shims;

/// <summary>
/// How to run the shim binary's <c>start</c> and <c>delete</c> subcommands (what containerd's runtime-v2 passes). The
/// shim's <c>-namespace</c> is its bundle's: one runtime launches shims for every namespace.
/// </summary>
/// <param name="GrpcAddress">
/// <c>-address</c>: containerd's gRPC socket. The runc shim never dials it; it only feeds the socket-name hash
/// (sha256 of address/ns/id), so it must be unique per runtime instance or two instances would share shim sockets.
/// </param>
/// <param name="TtrpcAddress">Our events ttrpc socket path, passed as <c>TTRPC_ADDRESS</c>; the shim publishes task events there.</param>
public sealed record ShimLaunchSettings(string GrpcAddress, string TtrpcAddress)
{
    public const string DefaultShimBinary = "containerd-shim-runc-v2";

    /// <summary>A path, or a bare name resolved on PATH.</summary>
    public string ShimBinary { get; init; } = DefaultShimBinary;

    /// <summary><c>-publish-binary</c>; accepted but unused by the runc shim (events go to TTRPC_ADDRESS).</summary>
    public string PublishBinary { get; init; } = "containerd";

    /// <summary>Sent on <c>start</c>'s stdin (binary_name, root, shim_cgroup, ...); null sends nothing.</summary>
    public RuncOptions? RuncOptions { get; init; }

    /// <summary>Passes <c>-debug</c> so the shim logs at debug level into the <c>log</c> FIFO.</summary>
    public bool Debug { get; init; }
}
