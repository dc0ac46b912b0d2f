using System.Collections.Immutable;
using ActorRuntime.Cluster;
using Akka.Actor;
using Akka.Cluster;
using ClusterSettings = ActorRuntime.Cluster.ClusterSettings;

namespace ActorRuntime.Tests.Cluster;

/// <summary>Scheme A: a node's shard goes only to the region of the Up member with that node's role, and never moves.</summary>
public sealed class PinnedAllocationStrategySpec
{
    private static readonly Address A = new("akka.tcp", "sys", "127.0.0.1", 4051);
    private static readonly Address B = new("akka.tcp", "sys", "127.0.0.1", 4052);
    private static readonly Address C = new("akka.tcp", "sys", "127.0.0.1", 4053);

    private static PinnedAllocationStrategy.MemberView Member(Address address, string node, MemberStatus status = MemberStatus.Up) =>
        new(address, status, ImmutableHashSet.Create(ClusterSettings.RoleOf(node)));

    private static readonly (Address, string)[] Regions = [(A, "region-a"), (B, "region-b"), (C, "region-c")];

    [Fact]
    public void A_shard_is_allocated_to_the_region_of_the_member_whose_role_names_its_node_whoever_asks()
    {
        PinnedAllocationStrategy.MemberView[] members = [Member(A, "n1"), Member(B, "n2"), Member(C, "n3")];
        Assert.Equal("region-b", PinnedAllocationStrategy.Choose("n2", members, Regions));
        Assert.Equal("region-c", PinnedAllocationStrategy.Choose("n3", members, Regions));
        Assert.Equal("region-a", PinnedAllocationStrategy.Choose("n1", members.Reverse(), Regions.Reverse()));
    }

    [Theory]
    [InlineData(MemberStatus.Joining)]
    [InlineData(MemberStatus.Leaving)]
    [InlineData(MemberStatus.Down)]
    [InlineData(MemberStatus.Removed)]
    public void A_shard_whose_node_is_not_up_is_not_allocated_anywhere_else(MemberStatus status)
    {
        PinnedAllocationStrategy.MemberView[] members = [Member(A, "n1"), Member(B, "n2", status)];
        Assert.Null(PinnedAllocationStrategy.Choose("n2", members, Regions));
    }

    [Fact]
    public void A_shard_whose_node_is_absent_or_has_no_region_yet_is_not_allocated()
    {
        Assert.Null(PinnedAllocationStrategy.Choose("n3", [Member(A, "n1"), Member(B, "n2")], Regions));
        Assert.Null(PinnedAllocationStrategy.Choose("n2", [Member(A, "n1"), Member(B, "n2")], [(A, "region-a")]));
    }

    [Fact]
    public async Task Rebalance_never_moves_a_shard_however_uneven_the_allocation()
    {
        var strategy = new PinnedAllocationStrategy();
        var allocations = ImmutableDictionary<IActorRef, IImmutableList<string>>.Empty
            .Add(ActorRefs.Nobody, ImmutableList.Create("n1", "n2", "n3", "n4"));
        Assert.Empty(await strategy.Rebalance(allocations, ImmutableHashSet<string>.Empty));
    }
}
