using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
namespace ActorRuntime.Shims;

/// <summary>Messages of the ShimManager besides the task commands it routes by container id.</summary>
public static class ShimManagerProtocol
{
    /// <summary>A shim actor's task exists (created, or found alive on reload); its exit must be published.</summary>
    public sealed record Registered(string ContainerId);

    /// <summary>The task was deleted through the API; a later connection close is not a dead shim.</summary>
    public sealed record Unregistered(string ContainerId);

    public sealed record ListTasks;

    public sealed record TaskList(IReadOnlyList<string> ContainerIds);

    /// <summary>Completes when every shim found on disk at start has been reloaded or cleaned up.</summary>
    public sealed record AwaitLoaded;

    public sealed record Loaded(int Reloaded, int CleanedUp);

    /// <summary>Published on the actor system's event stream after a dead shim was cleaned up (for tests and tools).</summary>
    public sealed record DeadShimCleaned(string ContainerId, bool Published, uint ExitStatus);
}
