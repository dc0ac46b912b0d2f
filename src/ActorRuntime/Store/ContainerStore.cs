using ActorRuntime.Containers;
using Akka.Actor;

namespace ActorRuntime.Store;

/// <summary>Messages of the <see cref="ContainerStore"/>; failures come back as <see cref="Tasks.TaskProtocol.Failed"/>.</summary>
public static class ContainerStoreProtocol
{
    public interface IContainerStoreCommand;

    public sealed record Create(ContainerRecord Container) : IContainerStoreCommand;

    public sealed record Get(string Namespace, string Id) : IContainerStoreCommand;

    /// <summary>The containers of one namespace.</summary>
    public sealed record List(string Namespace) : IContainerStoreCommand;

    /// <summary>
    /// containerd's field-mask update: each path is "labels" (replace them all), "labels.&lt;key&gt;" (set that key from
    /// <paramref name="Labels"/>, or remove it when absent there) or "spec"; an empty mask is "labels" and "spec". Without
    /// <paramref name="Paths"/>, the fields given (not null) are replaced.
    /// </summary>
    public sealed record Update(string Namespace, string Id, IReadOnlyDictionary<string, string>? Labels = null, string? SpecJson = null,
        IReadOnlyList<string>? Paths = null) : IContainerStoreCommand;

    public sealed record Delete(string Namespace, string Id) : IContainerStoreCommand;

    public sealed record Containers(IReadOnlyList<ContainerRecord> Items);

    public sealed record Deleted(string Id);
}

/// <summary>Durable container metadata of every namespace (containerd's containers store), journaled and snapshotted.</summary>
public sealed class ContainerStore(string ns, string? node = null) : DurableActor<ContainerStoreState, ContainerStoreProtocol.IContainerStoreCommand, ContainerStoreEvent>(
    // "containers-<the runtime's namespace>" is what existing databases hold the journal under (from before the store kept
    // every namespace): changing it loses every container.
    // In cluster mode every node writes to the one shared journal under its own id.
    Cluster.ClusterSettings.ScopedPersistenceId("containers-" + ns, node),
    ContainerStoreState.Empty,
    new SnapshotPolicy(Every: 200))
{
    public static Props Props(string ns, string? node = null) => Akka.Actor.Props.Create(() => new ContainerStore(ns, node));

    protected override Decision<ContainerStoreEvent> Decide(ContainerStoreProtocol.IContainerStoreCommand command) =>
        State.Decide(command, DateTimeOffset.UtcNow);
}
