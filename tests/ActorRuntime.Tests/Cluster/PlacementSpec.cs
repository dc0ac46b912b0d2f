using System.Collections.Immutable;
using ActorRuntime.Cluster;
using ActorRuntime.Protocol.Ttrpc;

namespace ActorRuntime.Tests.Cluster;

/// <summary>Where a new container goes: the named node if it is up, else the fewest containers, ties by free memory.</summary>
public sealed class PlacementSpec
{
    private static NodeLoads Loads(string[] up, Dictionary<string, int> containers, Dictionary<string, long> free) =>
        NodeLoads.Of(up, containers, free);

    [Fact]
    public void Anywhere_is_the_node_with_the_fewest_containers()
    {
        var loads = Loads(["n1", "n2", "n3"], new() { ["n1"] = 4, ["n2"] = 1, ["n3"] = 2 },
            new() { ["n1"] = 900, ["n2"] = 100, ["n3"] = 900 });
        Assert.Equal("n2", loads.Choose(Placement.Anywhere));
    }

    [Fact]
    public void Equal_counts_go_to_the_node_with_the_most_free_memory_and_one_that_has_not_published_it_loses_the_tie()
    {
        var loads = Loads(["n1", "n2", "n3"], new() { ["n1"] = 2, ["n2"] = 2, ["n3"] = 2 }, new() { ["n1"] = 100, ["n2"] = 300 });
        Assert.Equal("n2", loads.Choose(Placement.Anywhere));
        Assert.Equal("n1", Loads(["n1", "n3"], new(), new() { ["n1"] = 1 }).Choose(Placement.Anywhere));
    }

    [Fact]
    public void A_node_with_no_containers_counts_as_zero_and_equal_nodes_are_chosen_by_name()
    {
        Assert.Equal("n3", Loads(["n1", "n3"], new() { ["n1"] = 1 }, new()).Choose(Placement.Anywhere));
        Assert.Equal("a", Loads(["b", "a"], new(), new()).Choose(Placement.Anywhere));
    }

    [Fact]
    public void A_named_node_that_is_up_is_chosen_however_loaded()
    {
        var loads = Loads(["n1", "n2"], new() { ["n1"] = 50 }, new() { ["n2"] = 1 << 30 });
        Assert.Equal("n1", loads.Choose(Placement.On("n1")));
    }

    [Fact]
    public void A_named_node_that_is_not_up_is_unavailable_naming_it_and_the_nodes_that_are()
    {
        var e = Assert.Throws<UnavailableException>(() => Loads(["n1", "n2"], new(), new()).Choose(Placement.On("n9")));
        Assert.Equal(TtrpcCode.Unavailable, e.Code);
        Assert.Contains("node n9 is not an Up, reachable member of the cluster (up: n1, n2)", e.Message);
    }

    [Fact]
    public void Anywhere_with_no_node_up_is_unavailable()
    {
        var e = Assert.Throws<UnavailableException>(() => new NodeLoads(ImmutableArray<NodeLoad>.Empty).Choose(Placement.Anywhere));
        Assert.Contains("no node of the cluster is up", e.Message);
    }

    [Fact]
    public void Free_memory_is_read_from_meminfos_mem_available_line_in_bytes()
    {
        Assert.Equal(2048L * 1024, NodeMemoryPublisher.ParseMemAvailable(["MemTotal: 9999 kB", "MemAvailable:    2048 kB", "Buffers: 1 kB"]));
        Assert.Null(NodeMemoryPublisher.ParseMemAvailable(["MemTotal: 9999 kB"]));
    }
}
