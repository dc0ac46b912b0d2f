using Akka.Actor;

namespace ActorRuntime.Store;

/// <summary>Messages of the <see cref="NamespaceStore"/>; failures come back as <see cref="Tasks.TaskProtocol.Failed"/>.</summary>
public static class NamespaceStoreProtocol
{
    public interface INamespaceStoreCommand;

    /// <summary>Answers a namespace never created too, with no labels (containerd does: clients ask before creating).</summary>
    public sealed record Get(string Name) : INamespaceStoreCommand;

    public sealed record List : INamespaceStoreCommand;

    public sealed record Create(string Name, IReadOnlyDictionary<string, string> Labels) : INamespaceStoreCommand;

    /// <summary>
    /// The namespace exists from its first use on, as in containerd (whose metadata makes a namespace's bucket when
    /// something is first stored in it): created with no labels if absent, no event published. Answers the record.
    /// </summary>
    public sealed record Ensure(string Name) : INamespaceStoreCommand;

    /// <summary>
    /// containerd's field-mask update: each path is "labels" (replace them all) or "labels.&lt;key&gt;" (set that key from
    /// <paramref name="Labels"/>, or remove it when absent there); no path replaces every label.
    /// </summary>
    public sealed record Update(string Name, IReadOnlyDictionary<string, string> Labels, IReadOnlyList<string> Paths)
        : INamespaceStoreCommand;

    /// <summary>
    /// <paramref name="StillHas"/>: the kinds of objects the namespace still holds ("containers", ...), found by the
    /// caller; any refuses the delete.
    /// </summary>
    public sealed record Delete(string Name, IReadOnlyList<string> StillHas) : INamespaceStoreCommand;

    public sealed record Namespaces(IReadOnlyList<NamespaceRecord> Items);

    public sealed record Deleted(string Name);
}

/// <summary>The namespaces created through the API (containerd's namespaces store), journaled and snapshotted.</summary>
public sealed class NamespaceStore(string? node = null) : DurableActor<NamespaceStoreState, NamespaceStoreProtocol.INamespaceStoreCommand, NamespaceStoreEvent>(
    Cluster.ClusterSettings.ScopedPersistenceId("namespaces", node), NamespaceStoreState.Empty, new SnapshotPolicy(Every: 200))
{
    public static Props Props(string? node = null) => Akka.Actor.Props.Create(() => new NamespaceStore(node));

    protected override Decision<NamespaceStoreEvent> Decide(NamespaceStoreProtocol.INamespaceStoreCommand command) =>
        State.Decide(command);
}
