using System.Collections.Immutable;
using ActorRuntime.Cluster;
using ActorRuntime.Containers;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;

namespace ActorRuntime.Tests.Cluster;

/// <summary>Entity ids "&lt;node&gt;~&lt;namespace&gt;/&lt;id&gt;" and their shard (the node) both ways.</summary>
public sealed class ContainerMessageExtractorSpec
{
    private readonly ContainerMessageExtractor _extractor = new();

    [Fact]
    public void A_routed_command_has_its_containers_entity_and_its_nodes_shard_and_the_entity_id_alone_gives_the_same_shard()
    {
        var command = new TaskProtocol.InNamespace("ns1", new TaskProtocol.State("web-1"));
        var route = new ContainerEntityProtocol.Route(ContainerEntityIds.For("node-a", command), ContainerEntityProtocol.Target.ShimManager,
            command);
        var entity = _extractor.EntityId(route)!;
        Assert.Equal("node-a~ns1/web-1", entity);
        Assert.Same(route, _extractor.EntityMessage(route));
        Assert.Equal("node-a", _extractor.ShardId(route));
        // What a remembered entity is restarted with after its node comes back.
        Assert.Equal("node-a", _extractor.ShardId(entity));
        Assert.Equal(("ns1", "web-1"), ContainerEntityIds.ContainerOfEntity(entity));
    }

    [Fact]
    public void Container_store_commands_go_through_the_containers_entity_and_the_rest_through_the_nodes()
    {
        var record = new ContainerRecord("ns", "c1", "{}", ContainerRecord.DefaultRuntime, null,
            ImmutableSortedDictionary<string, string>.Empty, "", default, default);
        Assert.Equal("n~ns/c1", ContainerEntityIds.For("n", new ContainerStoreProtocol.Create(record)));
        Assert.Equal("n~ns/c1", ContainerEntityIds.For("n", new ContainerStoreProtocol.Get("ns", "c1")));
        Assert.Equal("n~ns/c1", ContainerEntityIds.For("n", new ContainerStoreProtocol.Update("ns", "c1")));
        Assert.Equal("n~ns/c1", ContainerEntityIds.For("n", new ContainerStoreProtocol.Delete("ns", "c1")));
        Assert.Equal("n~", ContainerEntityIds.For("n", new ContainerStoreProtocol.List("ns")));
        Assert.Equal("n~", ContainerEntityIds.For("n", new ShimManagerProtocol.ListTasks("ns")));
        Assert.Null(ContainerEntityIds.ContainerOfEntity("n~"));
        Assert.Equal("n", _extractor.ShardId("n~"));
    }

    [Fact]
    public void Anything_but_a_route_is_not_the_regions_and_an_id_without_a_node_is_refused()
    {
        Assert.Null(_extractor.EntityId("hello"));
        Assert.Null(_extractor.ShardId((object)"hello"));
        Assert.Contains("not a container entity id", Assert.Throws<ArgumentException>(() => _extractor.ShardId("no-node")).Message);
    }
}
