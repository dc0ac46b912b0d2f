using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.Shims;

/// <summary>
/// Whom the shim actors of one runtime work with besides their shims; the values they read are <see cref="ShimSettings"/>.
/// Built by the <see cref="ShimManager"/>, which owns <paramref name="Exits"/> and is <paramref name="Manager"/>.
/// </summary>
/// <param name="Launcher">Runs the shim binary's <c>start</c> and <c>delete</c> (or a fake).</param>
/// <param name="EventBus">Where lifecycle events (create, start, exec-added, ...) are published.</param>
/// <param name="Exits">The one way a process's exit and delete reach the bus (<see cref="Tasks.Exits"/>).</param>
/// <param name="Processes">The durable <see cref="Store.ProcessStore"/>: each task's record, the owner of "exit owed".</param>
/// <param name="ShimLog">Receives the shims' own log lines and the runtime's notes about them.</param>
/// <param name="Manager">Told when a task exists and when a shim actor has released its bundle itself.</param>
internal sealed record ShimServices(
    IShimLauncher Launcher,
    IActorRef EventBus,
    IActorRef Exits,
    IActorRef Processes,
    ILogger ShimLog,
    IActorRef Manager)
{
    /// <summary>Containers sharing a shim process (grouping); shared by all shim actors of this runtime.</summary>
    public ShimGroups Groups { get; } = new();
}
