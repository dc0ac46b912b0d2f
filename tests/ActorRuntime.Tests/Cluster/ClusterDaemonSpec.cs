using ActorRuntime.Cluster;
using ActorRuntime.Daemon.Services;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Api.Containers;
using ActorRuntime.Protocol.Api.Tasks;
using ActorRuntime.Tests.Daemon;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Cluster;

/// <summary>
/// actorruntimed's API in cluster mode (one node, fake shims): a container made through it is claimed cluster-wide and
/// placed by its label, found, listed and deleted by id through the ownership map; one of a node that is not up is
/// Unavailable naming the node.
/// </summary>
public sealed class ClusterDaemonSpec(ITestOutputHelper output) : DaemonServerSpecBase(output, OneNodeCluster.Hocon(OneNodeCluster.Node))
{
    private ActorRuntime.Protocol.Api.Containers.Containers.ContainersClient Containers => new(Channel);

    private ActorRuntime.Protocol.Api.Tasks.Tasks.TasksClient Tasks => new(Channel);

    private static Container NewContainer(string id, string? placement = null)
    {
        var container = new Container
        {
            Id = id,
            Runtime = new Container.Types.Runtime { Name = "io.containerd.runc.v2" },
            Spec = new Any { TypeUrl = TypeUrls.OciSpec, Value = ByteString.CopyFromUtf8("""{"ociVersion":"1.0.2","root":{"path":"/r"}}""") },
        };
        if (placement is not null) container.Labels.Add(ContainersService.PlacementLabel, placement);
        return container;
    }

    [Fact]
    public async Task A_container_created_through_the_api_is_owned_by_the_node_its_label_names_and_goes_with_its_delete()
    {
        await OneNodeCluster.UpAsync(Sys, Bound);
        var ns = In(Settings.Namespace);
        await Containers.CreateAsync(new CreateContainerRequest { Container = NewContainer("here") }, ns);
        await Containers.CreateAsync(new CreateContainerRequest { Container = NewContainer("any", "anywhere") }, ns);
        var owners = Runtime.Cluster!.Owners;
        Assert.Equal(OneNodeCluster.Node, await owners.OwnerAsync(Settings.Namespace, "here"));
        Assert.Equal(OneNodeCluster.Node, await owners.OwnerAsync(Settings.Namespace, "any"));
        Assert.Equal(["any", "here"], (await Containers.ListAsync(new ListContainersRequest(), ns)).Containers.Select(c => c.Id).Order());

        await Tasks.CreateAsync(new CreateTaskRequest { ContainerId = "here" }, ns);
        Assert.Equal("here", (await Tasks.GetAsync(new GetRequest { ContainerId = "here" }, ns)).Process.ContainerId);
        Assert.Equal(["here"], (await Tasks.ListAsync(new ListTasksRequest(), ns)).Tasks.Select(t => t.ContainerId));
        await Tasks.KillAsync(new KillRequest { ContainerId = "here", Signal = 9 }, ns);
        await Tasks.DeleteAsync(new DeleteTaskRequest { ContainerId = "here" }, ns);

        await Containers.DeleteAsync(new DeleteContainerRequest { Id = "here" }, ns);
        Assert.Null(await owners.OwnerAsync(Settings.Namespace, "here"));
        var taken = await Refused(() => Containers.CreateAsync(new CreateContainerRequest { Container = NewContainer("any") }, ns).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, taken.StatusCode);
    }

    [Fact]
    public async Task A_container_of_a_node_that_is_not_up_is_unavailable_naming_it_and_so_is_a_placement_on_it()
    {
        await OneNodeCluster.UpAsync(Sys, Bound);
        var ns = In(Settings.Namespace);
        await Runtime.Cluster!.Owners.ClaimAsync(Settings.Namespace, "far", "n2");
        var get = await Refused(() => Tasks.GetAsync(new GetRequest { ContainerId = "far" }, ns).ResponseAsync);
        Assert.Equal((StatusCode.Unavailable, "node n2 is not a member of the cluster"), (get.StatusCode, get.Status.Detail));
        var info = await Refused(() => Containers.GetAsync(new GetContainerRequest { Id = "far" }, ns).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, info.StatusCode);

        var placed = await Refused(() => Containers.CreateAsync(new CreateContainerRequest { Container = NewContainer("x", "n2") }, ns).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, placed.StatusCode);
        Assert.Contains("node n2 is not an Up, reachable member", placed.Status.Detail);
    }
}
