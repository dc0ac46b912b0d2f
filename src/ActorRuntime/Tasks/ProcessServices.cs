using ActorRuntime.Shims;
using Akka.Actor;

namespace ActorRuntime.Tasks;

/// <summary>
/// Whom a task or exec actor works with: its shim (<paramref name="Shim"/>), the bus for lifecycle events,
/// <see cref="Tasks.Exits"/> for its end, and the durable <see cref="Store.ProcessStore"/> for its record.
/// </summary>
internal sealed record ProcessServices(ShimConnection Shim, IActorRef EventBus, IActorRef Exits, IActorRef Processes)
{
    /// <summary>The runtime's crash points (none armed outside crash tests).</summary>
    public Diagnostics.FailPoints FailPoints { get; init; } = Diagnostics.FailPoints.None;
}
