using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;

namespace ActorRuntime.Cluster;

/// <summary>
/// Scheme A of docs/akka-stack.md §3.2: shard id = node name, allocated only to the region of the Up member that has
/// the role node-&lt;name&gt;, and never moved, because a container's shim and processes live on that machine. With no such
/// member the allocation fails; the coordinator logs it and the region retries (buffering) until the node is back.
/// </summary>
public sealed class PinnedAllocationStrategy : IActorSystemDependentAllocationStrategy
{
    private Akka.Cluster.Cluster? _cluster;

    public void Start(ActorSystem system) => _cluster = Akka.Cluster.Cluster.Get(system);

    public Task<IActorRef> AllocateShard(IActorRef requester, string shardId,
        IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations)
    {
        var cluster = _cluster ?? throw new InvalidOperationException("the allocation strategy was not started");
        var members = cluster.State.Members
            .Where(m => !cluster.State.Unreachable.Contains(m))
            .Select(m => new MemberView(m.Address, m.Status, m.Roles));
        var regions = currentShardAllocations.Keys.Select(r => (Address(r, cluster.SelfAddress), r));
        return Choose(shardId, members, regions) is { } region
            ? Task.FromResult(region)
            : Task.FromException<IActorRef>(new InvalidOperationException(
                $"shard {shardId}: node {shardId} (role {ClusterSettings.RoleOf(shardId)}) is not an Up member of the cluster"));
    }

    /// <summary>Never: a shard moved to another node would route its containers' commands to a machine without their shims.</summary>
    public Task<IImmutableSet<string>> Rebalance(IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations,
        IImmutableSet<string> rebalanceInProgress) => Task.FromResult<IImmutableSet<string>>(ImmutableHashSet<string>.Empty);

    /// <summary>A member as allocation sees it.</summary>
    public sealed record MemberView(Address Address, MemberStatus Status, IImmutableSet<string> Roles);

    /// <summary>
    /// The region of the reachable Up member with the shard's role; null when there is none (the node is down, gone or
    /// has no region yet).
    /// </summary>
    public static TRegion? Choose<TRegion>(string shardId, IEnumerable<MemberView> reachableMembers,
        IEnumerable<(Address Address, TRegion Region)> regions) where TRegion : class
    {
        var role = ClusterSettings.RoleOf(shardId);
        var member = reachableMembers.FirstOrDefault(m => m.Status == MemberStatus.Up && m.Roles.Contains(role));
        return member is null ? null : regions.FirstOrDefault(r => r.Address == member.Address).Region;
    }

    // The local region's path has no host: it is this node's.
    private static Address Address(IActorRef region, Address self) => region.Path.Address.HasLocalScope ? self : region.Path.Address;
}
