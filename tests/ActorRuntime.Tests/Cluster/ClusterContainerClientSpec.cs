using ActorRuntime.Client;
using ActorRuntime.Client.Cluster;
using ActorRuntime.Cluster;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;
using ActorRuntime.Tests.Runtime;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Cluster;

/// <summary>
/// The cluster client on a one-node cluster with fake shims: placement, lists that name the node, every call by id routed
/// by the ownership map, AlreadyExists cluster-wide, and the refusals for a container of a node that is not here.
/// </summary>
public sealed class ClusterContainerClientSpec(ITestOutputHelper output) : RuntimeSpecBase(output, OneNodeCluster.Hocon(OneNodeCluster.Node))
{
    private const string Node = OneNodeCluster.Node;

    private async Task<ClusterContainerClient> ClientAsync()
    {
        await OneNodeCluster.UpAsync(Sys, Bound);
        return new ClusterContainerClient(Runtime, Path.Combine(Settings.StateDirectory, "client"));
    }

    [Fact]
    public async Task A_container_placed_anywhere_is_created_on_the_node_listed_with_it_and_driven_by_id_until_deleted()
    {
        await using var client = await ClientAsync();
        await client.CreateAsync(new NewContainer("c1", Spec));
        await client.CreateAsync(new NewContainer("c2", Spec), Placement.On(Node));
        Assert.Equal(Node, await client.NodeOfAsync("c1"));
        Assert.Equal([(Node, "c1"), (Node, "c2")], (await client.ListPlacedAsync()).Select(p => (p.Node, p.Container.Id)));
        Assert.Equal(["c1", "c2"], (await client.ListAsync()).Select(c => c.Id));
        Assert.Contains(Runtime.Namespace, await client.NamespacesAsync());

        var started = await client.StartAsync("c1", new StartOptions());
        Assert.Equal(ProcessStatus.Running, (await client.StatusAsync("c1")).Status);
        Assert.Equal(started.Pid, Assert.Single(await client.SummaryAsync("c1")).Pid);
        await client.SignalAsync("c1", null, 9);
        Assert.Equal(137u, (await client.WaitAsync("c1", null).WaitAsync(Bound)).ExitStatus);
        await client.DeleteTaskAsync("c1");
        await client.DeleteAsync("c1");
        Assert.Null(await ClusterNodeOf().Owners.OwnerAsync(Runtime.Namespace, "c1"));
        await Assert.ThrowsAsync<NotFoundException>(() => client.LoadAsync("c1"));
        Assert.Null(await client.ForceDeleteAsync("c2"));
        Assert.Empty(await client.ListAsync());
    }

    [Fact]
    public async Task An_id_any_node_has_is_already_exists_naming_that_node_and_a_failed_create_gives_the_id_back()
    {
        await using var client = await ClientAsync();
        await ClusterNodeOf().Owners.ClaimAsync(Runtime.Namespace, "taken", "n2");
        var e = await Assert.ThrowsAsync<AlreadyExistsException>(() => client.CreateAsync(new NewContainer("taken", Spec)));
        Assert.Contains("already exists (on node n2)", e.Message);

        // Refused by the node's runtime (options of another runtime): the claim is released again.
        var bad = new NewContainer("bad", Spec, Options: new RuntimeOptions("types.example/other", [1]));
        await Assert.ThrowsAsync<InvalidArgumentException>(() => client.CreateAsync(bad));
        Assert.Null(await ClusterNodeOf().Owners.OwnerAsync(Runtime.Namespace, "bad"));
    }

    [Fact]
    public async Task A_container_of_a_node_that_is_not_up_is_unavailable_naming_it_and_attaching_its_stdio_from_here_is_refused()
    {
        await using var client = await ClientAsync();
        await ClusterNodeOf().Owners.ClaimAsync(Runtime.Namespace, "far", "n2");

        var status = await Assert.ThrowsAsync<UnavailableException>(() => client.StatusAsync("far"));
        Assert.Equal("node n2 is not a member of the cluster", status.Message);
        var placed = await Assert.ThrowsAsync<UnavailableException>(() => client.CreateAsync(new NewContainer("x", Spec), Placement.On("n2")));
        Assert.Contains("node n2 is not an Up, reachable member", placed.Message);

        var attach = await Assert.ThrowsAsync<FailedPreconditionException>(() =>
            client.StartAsync("far", new StartOptions(Attach: (_, _) => Task.CompletedTask)));
        Assert.Contains("container far runs on node n2: its stdio can be attached only there (this is node n1)", attach.Message);
        await Assert.ThrowsAsync<FailedPreconditionException>(() =>
            client.ExecAsync("far", "e1", new ExecOptions("{}", Attach: (_, _) => Task.CompletedTask)));
    }

    private ClusterNode ClusterNodeOf() => Runtime.Cluster!;
}
