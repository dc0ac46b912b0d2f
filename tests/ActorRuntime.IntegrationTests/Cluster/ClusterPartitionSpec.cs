using ActorRuntime.Client;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Oci;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Tasks;
using ActorRuntime.Testing;

namespace ActorRuntime.IntegrationTests.Cluster;

/// <summary>
/// A real partition of a <see cref="ThreeNodeCluster"/>: each node in a network namespace of its own on one bridge, one
/// node's link taken down past the split-brain resolver's decision, then up again. Exits on both sides of the cut, and
/// the cluster's event stream read afterwards from position 0, are what is checked. Cluster timings are shortened in the
/// nodes' configuration, no step is skipped.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterPartitionSpec : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>A cut node's downing (3 s stable-after, 1 s margin), or its return: restarted, re-admitted, shims reloaded.</summary>
    private static readonly TimeSpan Rejoin = TimeSpan.FromSeconds(120);

    private const string RestartLine = "this node was downed by the cluster: actorruntimed starts again";
    private const int N1 = 0;
    private const int N2 = 1;
    private const int N3 = 2;

    private ThreeNodeCluster? _started;

    private ThreeNodeCluster _cluster => _started ?? throw new InvalidOperationException("the cluster is not started");

    public async Task InitializeAsync() => _started = await ThreeNodeCluster.StartAsync(ShimTestEnvironment.TestRoot, Bound, """
        actor-runtime.cluster.split-brain-resolver.stable-after = 3s
        actor-runtime.cluster.down-removal-margin = 1s
        actor-runtime.cluster.node-lost-grace-period = 5m
        """, isolated: true);

    public async Task DisposeAsync()
    {
        if (_started is not null) await _started.DisposeAsync();
    }

    private async Task<uint> RunOnAsync(int node, string id)
    {
        var spec = OciSpec.ConfigJson(_cluster.Namespace, id, new OciContainerSpec(["sleep", "600"]));
        await ThreeNodeCluster.UntilUpAsync(() => _cluster.Client(N1).CreateAsync(new NewContainer(id, spec,
            Labels: new Dictionary<string, string> { [ThreeNodeCluster.PlacementLabel] = ThreeNodeCluster.Nodes[node] })));
        // Started through another node, which may see a node that just joined Up a moment later than n1 does.
        uint pid = 0;
        await ThreeNodeCluster.UntilUpAsync(async () => pid = (await _cluster.Client(node == N3 ? N2 : N3).StartAsync(id,
            new StartOptions(Rootfs: [BusyboxImage.BindMount(ShimTestEnvironment.ImageDirectory)]))).Pid);
        Assert.Equal(ThreeNodeCluster.Nodes[node], _cluster.RunsOn(id));
        return pid;
    }

    [Fact]
    public async Task A_node_cut_off_past_its_downing_rejoins_when_reconnected_and_the_stream_from_zero_holds_each_exit_once()
    {
        var cutOffDies = await RunOnAsync(N3, "cut-off-dies");
        var cutOffLives = await RunOnAsync(N3, "cut-off-lives");
        await RunOnAsync(N1, "majority-dies");
        await RunOnAsync(N2, "marker");
        var live = new ThreeNodeCluster.Recorder();
        await using var liveSubscription = await _cluster.Client(N1).SubscribeAsync(live, afterOffset: 0);

        await _cluster.CutAsync(N3);
        // n1 and n2 down n3 and remove it: asked through n1, n3's container is Unavailable, naming n3 as no member.
        await EventuallyAsync(async () =>
        {
            try
            {
                await _cluster.Client(N1).StatusAsync("cut-off-lives");
                return false;
            }
            catch (UnavailableException e)
            {
                return e.Message.Contains("n3 is not a member");
            }
        }, "n3 removed from the cluster", Rejoin, () => _cluster.Logs());
        // n3 alone is the minority: its own resolver downs it, and it starts its runtime again in place, cut off still.
        await EventuallyAsync(() => _cluster.Log(N3).Contains(RestartLine), "n3 downing itself and starting again", Rejoin,
            () => _cluster.Logs(60));
        // A container's process ends on the cut-off side: its shim sees it, n3's runtime is cut off from the cluster.
        HostProcesses.Kill((int)cutOffDies);
        await HostProcesses.WaitUntilGoneAsync((int)cutOffDies, Bound);
        // And one on the majority side, meanwhile.
        await _cluster.Client(N1).SignalAsync("majority-dies", null, 9);
        await EventuallyAsync(async () => (await _cluster.Client(N1).StatusAsync("majority-dies")).Status == ProcessStatus.Stopped,
            "majority-dies stopped", Bound, () => _cluster.Logs());

        await _cluster.ReconnectAsync(N3);

        // n3 rejoins, with the exit from its time cut off, and the container that kept running.
        await EventuallyAsync(async () =>
        {
            try
            {
                return (await _cluster.Client(N1).StatusAsync("cut-off-dies")).Status == ProcessStatus.Stopped;
            }
            catch (UnavailableException)
            {
                return false; // n3 not seen Up again yet
            }
        }, "n3 back, with cut-off-dies stopped, seen from n1", Rejoin, () => _cluster.Logs(60));
        await _cluster.WaitServingAsync(N3);
        for (var n = 0; n < 3; n++)
        {
            foreach (var id in new[] { "cut-off-dies", "majority-dies" })
            {
                var died = await StatusOf(n, id);
                Assert.Equal((ProcessStatus.Stopped, 137u), (died.Status, died.ExitStatus));
            }
            var lives = await StatusOf(n, "cut-off-lives");
            Assert.Equal((ProcessStatus.Running, cutOffLives), (lives.Status, lives.Pid));
        }

        // A last exit marks the point up to which the streams are read.
        await _cluster.Client(N1).SignalAsync("marker", null, 9);
        await EventuallyAsync(() => live.Events.Any(e => e is { Kind: ContainerEventKind.Exit, ContainerId: "marker" }),
            "marker's exit in the live stream", Bound, () => live + "\n" + _cluster.Logs());
        var fromZero = new ThreeNodeCluster.Recorder();
        await using (await _cluster.Client(N1).SubscribeAsync(fromZero, afterOffset: 0))
        {
            await EventuallyAsync(() => fromZero.Events.Any(e => e is { Kind: ContainerEventKind.Exit, ContainerId: "marker" }),
                "marker's exit in the stream from 0", Bound, () => fromZero + "\n" + _cluster.Logs());
        }

        // Every delivery counted, none folded: each exit exactly once, from its node, in both.
        (string, uint, string?)[] once =
            [("cut-off-dies", 137u, "n3"), ("majority-dies", 137u, "n1"), ("marker", 137u, "n2")];
        foreach (var (name, stream) in new[] { ("live", live), ("from 0", fromZero) })
        {
            var exits = stream.Events.Where(e => e.Kind == ContainerEventKind.Exit)
                .Select(e => (e.ContainerId, e.ExitStatus, e.Node)).OrderBy(e => e.ContainerId, StringComparer.Ordinal).ToList();
            Assert.True(once.SequenceEqual(exits),
                $"the exits {name}: {string.Join(", ", exits)}; expected {string.Join(", ", once)}\n{_cluster.Logs(60)}");
        }
        Assert.Contains(RestartLine, _cluster.Log(N3));
        Assert.DoesNotContain(RestartLine, _cluster.Log(N1));
        Assert.DoesNotContain(RestartLine, _cluster.Log(N2));

        foreach (var id in new[] { "cut-off-dies", "majority-dies", "marker" })
        {
            await _cluster.Client(N1).DeleteTaskAsync(id);
            await _cluster.Client(N1).DeleteAsync(id);
        }
        await _cluster.Client(N1).SignalAsync("cut-off-lives", null, 9);
        await EventuallyAsync(async () => (await _cluster.Client(N1).StatusAsync("cut-off-lives")).Status == ProcessStatus.Stopped,
            "cut-off-lives stopped", Bound);
        await _cluster.Client(N1).DeleteTaskAsync("cut-off-lives");
        await _cluster.Client(N1).DeleteAsync("cut-off-lives");
    }

    /// <summary>
    /// The status as node <paramref name="n"/> answers it, once that node sees the owner Up again: each node learns of a
    /// returning node by gossip, one after the other.
    /// </summary>
    private async Task<(ProcessStatus Status, uint ExitStatus, uint Pid)> StatusOf(int n, string id)
    {
        TaskStatusInfo? status = null;
        await ThreeNodeCluster.UntilUpAsync(async () => status = await _cluster.Client(n).StatusAsync(id));
        return (status!.Status, status.ExitStatus, status.Pid);
    }
}
