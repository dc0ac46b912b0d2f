using System.Collections.Immutable;
using ActorRuntime.Cluster;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using ActorRuntime.Tests.Runtime;
using Akka.Actor;
using Akka.Cluster;
using ClusterSettings = ActorRuntime.Cluster.ClusterSettings;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Cluster;

/// <summary>
/// A one-node cluster (self-join on a loopback port, the in-memory journal, fake shims): a command sent through the
/// node's shard region reaches its own runtime through the container's entity, the ownership map answers by id, and a
/// node that is not a member is Unavailable at once.
/// </summary>
public sealed class OneNodeClusterSpec(ITestOutputHelper output) : RuntimeSpecBase(output, OneNodeCluster.Hocon(Node))
{
    private const string Node = OneNodeCluster.Node;

    private ClusterNode ClusterNode => Runtime.Cluster ?? throw new InvalidOperationException("cluster mode is off");

    private Task UpAsync() => OneNodeCluster.UpAsync(Sys, Bound);

    [Fact]
    public async Task A_containers_whole_life_driven_through_its_entity_reaches_the_nodes_own_runtime()
    {
        await UpAsync();
        Assert.Equal([Node], ClusterNode.UpNodes);
        var routed = ClusterNode.Routed(Node, Runtime.Namespace);
        Assert.NotSame(Runtime.ShimManager, routed.ShimManager);

        await routed.CreateContainerAsync("c1", Spec);
        var pid = await routed.CreateAsync("c1", Spec, []);
        Assert.Equal(pid, await routed.StartAsync("c1"));
        // The local runtime sees what went through the entity: same task, same record.
        Assert.Equal(ProcessStatus.Running, (await Runtime.StateAsync("c1")).Status);
        Assert.Equal("c1", (await Runtime.GetContainerAsync("c1")).Id);
        Assert.Equal(["c1"], await routed.ListAsync());

        await routed.KillAsync("c1", 9);
        var exited = await routed.WaitAsync("c1").WaitAsync(Bound);
        Assert.Equal(137u, exited.ExitStatus);
        await routed.DeleteAsync("c1");
        await routed.DeleteContainerAsync("c1");
        await Assert.ThrowsAsync<NotFoundException>(() => Runtime.GetContainerAsync("c1"));
        // A typed error comes back through the entity as the runtime's own.
        var e = await Assert.ThrowsAsync<NotFoundException>(() => routed.StateAsync("c1"));
        Assert.Contains("c1", e.Message);
    }

    [Fact]
    public async Task A_route_sent_to_the_region_is_answered_by_the_local_actor_it_names()
    {
        await UpAsync();
        await Runtime.CreateContainerAsync("c2", Spec);
        var get = new ContainerStoreProtocol.Get(Runtime.Namespace, "c2");
        var reply = await ClusterNode.Region.Ask<object>(
            new ContainerEntityProtocol.Route(ContainerEntityIds.For(Node, get), ContainerEntityProtocol.Target.Containers, get), Bound);
        Assert.Equal("c2", Assert.IsType<Containers.ContainerRecord>(reply).Id);
    }

    [Fact]
    public async Task The_ownership_map_names_the_node_of_a_claimed_container_refuses_a_second_owner_and_forgets_a_released_one()
    {
        await UpAsync();
        var owners = ClusterNode.Owners;
        Assert.Null(await owners.OwnerAsync("spec", "c3"));
        await owners.ClaimAsync("spec", "c3", Node);
        await owners.ClaimAsync("spec", "c3", Node); // the same claim again changes nothing
        Assert.Equal(Node, await ClusterNode.OwnerAsync("spec", "c3"));
        var taken = await Assert.ThrowsAsync<AlreadyExistsException>(() => owners.ClaimAsync("spec", "c3", "n2"));
        Assert.Contains("already exists (on node n1)", taken.Message);
        Assert.Equal(1, (await owners.CountsAsync())[Node]);

        await owners.ReleaseAsync("spec", "c3");
        Assert.Null(await owners.OwnerAsync("spec", "c3"));
        var e = await Assert.ThrowsAsync<NotFoundException>(() => ClusterNode.OwnerAsync("spec", "c3"));
        Assert.Contains("container \"c3\" in namespace \"spec\": not found", e.Message);
    }

    [Fact]
    public async Task A_node_that_is_not_a_member_is_unavailable_at_once_naming_it_for_a_view_a_routed_command_and_a_placement()
    {
        await UpAsync();
        var view = Assert.Throws<UnavailableException>(() => ClusterNode.On("ghost", Runtime, "spec"));
        Assert.Equal("node ghost is not a member of the cluster", view.Message);

        var started = DateTime.UtcNow;
        var routed = await Assert.ThrowsAsync<UnavailableException>(() => ClusterNode.Routed("ghost", "spec").StateAsync("c4"));
        Assert.Equal("node ghost is not a member of the cluster", routed.Message);
        // Not left in the region's buffer until the command's deadline.
        Assert.True(DateTime.UtcNow - started < Runtime.CommandTimeout / 2, $"took {DateTime.UtcNow - started}");

        Task<string> NodeOf(string node, ActorRuntime.Hosting.ContainerRuntime _) => Task.FromResult(node);
        var placed = await Assert.ThrowsAsync<UnavailableException>(() => ClusterNode.PlaceAndCreateAsync(Placement.On("ghost"), Runtime, "c6", NodeOf));
        Assert.Contains("node ghost is not an Up, reachable member of the cluster (up: n1)", placed.Message);
        Assert.Null(await ClusterNode.Owners.OwnerAsync(Runtime.Namespace, "c6"));
        Assert.Equal(Node, await ClusterNode.PlaceAndCreateAsync(Placement.Anywhere, Runtime, "c6", NodeOf));
        Assert.Equal(Node, await ClusterNode.Owners.OwnerAsync(Runtime.Namespace, "c6"));
    }

    private static readonly Containers.ContainerRecord Record = new("spec", "c5", Spec, Containers.ContainerRecord.DefaultRuntime, [9, 8],
        ImmutableSortedDictionary<string, string>.Empty.Add("a", "1"), "busybox", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);

    [Fact]
    public void Every_message_that_crosses_nodes_survives_the_wire_serializer()
    {
        var ns = Runtime.Namespace;
        object[] messages =
        [
            new ContainerEntityProtocol.Route("n1~spec/c5", ContainerEntityProtocol.Target.ShimManager,
                new TaskProtocol.InNamespace(ns, new TaskProtocol.Create("c5", Spec, [new MountSpec("overlay", "/s", ["ro"])],
                    new Stdio("", "/tmp/out", "/tmp/err", false), RuntimeOptions: [1, 2, 3]))),
            new ContainerEntityProtocol.Route("n1~spec/c5", ContainerEntityProtocol.Target.ShimManager,
                new TaskProtocol.InNamespace(ns, new TaskProtocol.Kill("c5", 9, true))),
            new TaskProtocol.ProcessState("c5", "", 42, ProcessStatus.Stopped, 137, DateTimeOffset.UnixEpoch, "/b", Stdio.Null),
            new TaskProtocol.Exited("c5", "", 42, 137, DateTimeOffset.UnixEpoch),
            new TaskProtocol.Failed("c5", TtrpcCode.Unavailable, "node n2 is unreachable"),
            new TaskProtocol.PidList("c5", [new TaskProtocol.ProcessEntry(42, "e1")]),
            new ContainerStoreProtocol.Containers([Record]),
            Record,
            new NamespaceRecord("spec", ImmutableSortedDictionary<string, string>.Empty.Add("k", "v")),
            new ActorRuntime.Events.EventBusProtocol.Publish(new ActorRuntime.Events.TaskEvent(ns, "/containers/create", "c5", "", 0, 0, null,
                DateTimeOffset.UnixEpoch, Payload: new ActorRuntime.Events.EventPayload("containerd.events.ContainerCreate", [1, 2])), WantAck: true),
        ];
        foreach (var message in messages)
        {
            var serializer = Sys.Serialization.FindSerializerFor(message);
            var back = Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier,
                Akka.Serialization.Serialization.ManifestFor(serializer, message));
            Assert.Equal(message.GetType(), back.GetType());
            Assert.Equal(Newtonsoft.Json.JsonConvert.SerializeObject(message), Newtonsoft.Json.JsonConvert.SerializeObject(back));
        }
    }
}
