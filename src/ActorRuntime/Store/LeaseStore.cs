using Akka.Actor;

namespace ActorRuntime.Store;

/// <summary>Messages of the <see cref="LeaseStore"/>; failures come back as <see cref="Tasks.TaskProtocol.Failed"/>.</summary>
public static class LeaseStoreProtocol
{
    public interface ILeaseStoreCommand;

    /// <summary>The id is the caller's or one it made up (containerd's service makes one up for an empty id).</summary>
    public sealed record Create(string Namespace, string Id, IReadOnlyDictionary<string, string> Labels) : ILeaseStoreCommand;

    /// <summary>The leases of one namespace.</summary>
    public sealed record List(string Namespace) : ILeaseStoreCommand;

    public sealed record Delete(string Namespace, string Id) : ILeaseStoreCommand;

    public sealed record Leases(IReadOnlyList<LeaseRecord> Items);

    public sealed record Deleted(string Id);
}

/// <summary>
/// The leases clients take around their writes (containerd's leases store), journaled and snapshotted. Only recorded:
/// the runtime has no content or snapshots to collect, so a lease protects nothing and none expires.
/// </summary>
public sealed class LeaseStore(string? node = null) : DurableActor<LeaseStoreState, LeaseStoreProtocol.ILeaseStoreCommand, LeaseStoreEvent>(
    Cluster.ClusterSettings.ScopedPersistenceId("leases", node), LeaseStoreState.Empty, new SnapshotPolicy(Every: 200))
{
    public static Props Props(string? node = null) => Akka.Actor.Props.Create(() => new LeaseStore(node));

    protected override Decision<LeaseStoreEvent> Decide(LeaseStoreProtocol.ILeaseStoreCommand command) =>
        State.Decide(command, DateTimeOffset.UtcNow);
}
