using Microsoft.Extensions.Logging;

namespace ActorRuntime.Shims;

/// <summary>
/// How a shim comes to life and how its leftovers are removed: the `start` and `delete` contracts.
/// The real one runs the shim binary; fault-injection tests plug in a fake that serves real ttrpc on a real socket.
/// </summary>
public interface IShimLauncher
{
    /// <summary>Starts a shim for the bundle and returns its ttrpc address.</summary>
    Task<string> StartAsync(Bundle bundle, CancellationToken ct);

    /// <summary>Cleans up after a shim (dead or alive) and reports the init process's pid, status and exit time.</summary>
    Task<ShimDeleteResult> DeleteAsync(Bundle bundle, TimeSpan timeout, CancellationToken ct, ILogger? logger = null);
}

/// <summary>Runs containerd-shim-runc-v2 (or the configured binary) with its start/delete subcommands.</summary>
public sealed class BinaryShimLauncher(ShimLaunchSettings settings) : IShimLauncher
{
    public ShimLaunchSettings Settings => settings;

    public Task<string> StartAsync(Bundle bundle, CancellationToken ct) => ShimBinary.StartAsync(bundle, settings, ct);

    public Task<ShimDeleteResult> DeleteAsync(Bundle bundle, TimeSpan timeout, CancellationToken ct, ILogger? logger = null) =>
        ShimBinary.DeleteAsync(bundle, settings, timeout, ct, logger);
}
