using System.Diagnostics;
using ActorRuntime.Client;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Oci;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;
using ActorRuntime.Testing;
using Xunit.Abstractions;

namespace ActorRuntime.IntegrationTests.Cluster;

/// <summary>
/// A <see cref="ThreeNodeCluster"/> with real shims and runc: 30 busybox containers placed by name and "anywhere", each driven from every node
/// through that node's containerd API (state, exec, kill, delete). Afterwards no daemon, shim, runc container, bundle or
/// database server is left.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterPlacementSpec(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Containers = 30;
    private const string PlacementLabel = ThreeNodeCluster.PlacementLabel;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private static readonly string[] Nodes = ThreeNodeCluster.Nodes;

    private ThreeNodeCluster _cluster = null!;

    private string Namespace => _cluster.Namespace;

    private IContainerClient[] Clients => [_cluster.Client(0), _cluster.Client(1), _cluster.Client(2)];

    public async Task InitializeAsync() => _cluster = await ThreeNodeCluster.StartAsync(ShimTestEnvironment.TestRoot, Bound);

    public async Task DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task Thirty_containers_placed_by_name_and_anywhere_are_each_driven_from_every_node_and_leave_nothing_behind()
    {
        var watch = Stopwatch.StartNew();
        // Placed one after another, so "anywhere" sees the counts the named ones made: 5 named on each node, then 15
        // anywhere, which the fewest-containers rule spreads 5 more to each.
        var placed = new Dictionary<string, string>();
        for (var i = 0; i < Containers; i++)
        {
            var id = $"c{i:D2}";
            var placement = i < 15 ? Nodes[i % 3] : "anywhere";
            var spec = OciSpec.ConfigJson(Namespace, id, new OciContainerSpec(["sleep", "600"]));
            await ThreeNodeCluster.UntilUpAsync(() => Clients[(i + 1) % 3].CreateAsync(
                new NewContainer(id, spec, Labels: new Dictionary<string, string> { [PlacementLabel] = placement })));
            placed[id] = placement;
        }
        output.WriteLine($"created {Containers} in {watch.Elapsed}");

        // Every node lists all of them.
        for (var n = 0; n < 3; n++)
            Assert.Equal(placed.Keys.Order(), (await Clients[n].ListAsync()).Select(c => c.Id).Order());

        var rootfs = new[] { BusyboxImage.BindMount(ShimTestEnvironment.ImageDirectory) };
        var ran = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();
        await Shell.ForEachAsync(Enumerable.Range(0, Containers), 10, async i =>
        {
            var id = $"c{i:D2}";
            IContainerClient From(int k) => Clients[(i + k) % 3];
            var started = await From(0).StartAsync(id, new StartOptions(Rootfs: rootfs));
            // The node that runs it: the one whose state directory has its bundle.
            ran[id] = _cluster.RunsOn(id);
            for (var k = 0; k < 3; k++)
            {
                var status = await From(k).StatusAsync(id);
                Assert.Equal((ProcessStatus.Running, started.Pid), (status.Status, status.Pid));
                var exec = await From(k).ExecAsync(id, $"e{k}", new ExecOptions(OciSpec.ProcessJson(["sh", "-c", $"exit {k + 3}"])));
                Assert.True(exec.Pid > 0);
                Assert.Equal((uint)(k + 3), (await From(k).WaitAsync(id, $"e{k}")).ExitStatus);
                Assert.Equal((uint)(k + 3), (await From((k + 1) % 3).DeleteProcessAsync(id, $"e{k}")).ExitStatus);
            }
            await From(1).SignalAsync(id, null, 9);
            Assert.Equal(137u, (await From(2).WaitAsync(id, null)).ExitStatus);
            Assert.Equal(137u, (await From(0).DeleteTaskAsync(id)).ExitStatus);
            await From(1).DeleteAsync(id);
            await Assert.ThrowsAsync<NotFoundException>(() => From(2).LoadAsync(id));
        });
        output.WriteLine($"driven in {watch.Elapsed}");
        output.WriteLine(string.Join(", ", Nodes.Select(n => $"{n}: {ran.Values.Count(r => r == n)}")));

        // Named ones ran where they were told; "anywhere" ones spread evenly.
        foreach (var (id, placement) in placed.Where(p => p.Value != "anywhere")) Assert.Equal(placement, ran[id]);
        Assert.All(Nodes, n => Assert.Equal(10, ran.Values.Count(r => r == n)));
        for (var n = 0; n < 3; n++) Assert.Empty(await Clients[n].ListAsync());
        Assert.Empty(_cluster.Leftovers());

        // One stream for the cluster: read from position 0 through each node, every exit is in it once, named with the
        // node that ran it, and every node gives the same positions.
        var positions = new List<long[]>();
        for (var n = 0; n < 3; n++)
        {
            var seen = new ThreeNodeCluster.Recorder();
            await using (await Clients[n].SubscribeAsync(seen, afterOffset: 0))
                await EventuallyAsync(() => seen.Count(ContainerEventKind.Delete) == Containers, $"the {Containers} deletes through {Nodes[n]}",
                    Bound, seen.ToString);
            var events = seen.Events;
            var exits = events.Where(e => e.Kind == ContainerEventKind.Exit).ToList();
            Assert.Equal(Containers * 4, exits.Count); // three execs and the init of each
            Assert.Equal(exits.Count, exits.Select(e => (e.ContainerId, e.ExecId)).Distinct().Count());
            Assert.All(exits, e => Assert.Equal(ran[e.ContainerId], e.Node));
            Assert.All(exits.Where(e => e.ExecId is null), e => Assert.Equal(137u, e.ExitStatus));
            Assert.Equal(events.Count, events.Select(e => e.Offset).Distinct().Count());
            positions.Add([.. events.Select(e => e.Offset).Order()]);
        }
        Assert.Equal(positions[0], positions[1]);
        Assert.Equal(positions[0], positions[2]);
    }
}
