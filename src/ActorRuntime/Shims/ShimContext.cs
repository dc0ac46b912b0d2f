using ActorRuntime.Configuration;
using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Protocol.Runc;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.Shims;

/// <summary>What every shim actor of one runtime shares: settings, how to launch shims, where events go.</summary>
public sealed record ShimContext(
    RuntimeSettings Settings,
    IShimLauncher Launcher,
    Options? RuncOptions,
    IActorRef EventBus,
    IActorRef ProcessStore,
    ILogger ShimLogger)
{
    /// <summary>Containers sharing a shim process (grouping); shared by all shim actors of this runtime.</summary>
    public ShimGroups Groups { get; } = new();

    /// <summary>Our events socket (the shims' TTRPC_ADDRESS); fixed per state directory so reloaded shims find it.</summary>
    public static string EventsSocketPath(RuntimeSettings settings) =>
        Path.Combine(settings.StateDirectory, "actorruntime.sock.ttrpc");

    public static ShimContext Create(RuntimeSettings settings, IActorRef eventBus, IActorRef processStore, ILoggerFactory loggers,
        Func<ShimLaunchSettings, IShimLauncher>? launcher = null)
    {
        var runc = settings.RuncBinary.Length > 0 || settings.RuncRoot.Length > 0
            ? new Options { BinaryName = settings.RuncBinary, Root = settings.RuncRoot }
            : null;
        var launch = new ShimLaunchSettings(
            settings.Namespace,
            GrpcAddress: Path.Combine(settings.StateDirectory, "actorruntime.sock"),
            TtrpcAddress: EventsSocketPath(settings))
        {
            ShimBinary = settings.ShimBinary,
            PublishBinary = Environment.ProcessPath ?? "actorruntime",
            RuncOptions = runc,
        };
        return new ShimContext(settings, (launcher ?? (l => new BinaryShimLauncher(l)))(launch), runc, eventBus, processStore,
            loggers.CreateLogger("ActorRuntime.Shims"));
    }
}
