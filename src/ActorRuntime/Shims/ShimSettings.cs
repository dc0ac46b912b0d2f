using ActorRuntime.Configuration;

namespace ActorRuntime.Shims;

/// <summary>
/// The values every shim actor of one runtime reads and never changes: the runtime's settings (state directory,
/// timeouts) and how the shim binary is run for them. Who they talk to is <see cref="ShimServices"/>.
/// </summary>
public sealed record ShimSettings(RuntimeSettings Runtime, ShimLaunchSettings Launch)
{
    /// <summary>The crash points armed for this runtime (none in production).</summary>
    public Diagnostics.FailPoints FailPoints { get; init; } = Diagnostics.FailPoints.None;

    public string StateDirectory => Runtime.StateDirectory;

    /// <summary>Sent with Create (and on <c>start</c>'s stdin); null when neither a runc binary nor root is set.</summary>
    public RuncOptions? RuncOptions => Launch.RuncOptions;

    /// <summary>Our events socket (the shims' TTRPC_ADDRESS); fixed per address so reloaded shims find it.</summary>
    public string EventsSocketPath => Launch.TtrpcAddress;

    public static ShimSettings Create(RuntimeSettings settings)
    {
        var runc = settings.RuncBinary.Length > 0 || settings.RuncRoot.Length > 0
            ? new RuncOptions(settings.RuncBinary, settings.RuncRoot)
            : null;
        var launch = new ShimLaunchSettings(
            GrpcAddress: settings.Address,
            TtrpcAddress: settings.TtrpcAddress)
        {
            ShimBinary = settings.ShimBinary,
            PublishBinary = Environment.ProcessPath ?? "actorruntime",
            RuncOptions = runc,
        };
        return new ShimSettings(settings, launch);
    }
}
