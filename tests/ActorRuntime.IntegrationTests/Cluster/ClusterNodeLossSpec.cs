using ActorRuntime.Client;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Oci;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;
using ActorRuntime.Testing;

namespace ActorRuntime.IntegrationTests.Cluster;

/// <summary>
/// A node of a <see cref="ThreeNodeCluster"/> lost and back: what the other nodes answer meanwhile, and what the cluster's
/// event stream says afterwards. Cluster timings are shortened in the nodes' configuration, no step is skipped.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterNodeLossSpec : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>A killed node's return: downed (3 s stable-after), removed (1 s margin), re-admitted, shims reloaded.</summary>
    private static readonly TimeSpan Rejoin = TimeSpan.FromSeconds(90);
    private const int N2 = 1;

    private ThreeNodeCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await ThreeNodeCluster.StartAsync(ShimTestEnvironment.TestRoot, Bound, """
        actor-runtime.cluster.split-brain-resolver.stable-after = 3s
        actor-runtime.cluster.down-removal-margin = 1s
        """);

    public async Task DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }

    private async Task<uint> RunOnN2Async(string id)
    {
        var spec = OciSpec.ConfigJson(_cluster.Namespace, id, new OciContainerSpec(["sleep", "600"]));
        await ThreeNodeCluster.UntilUpAsync(() => _cluster.Client(0).CreateAsync(new NewContainer(id, spec,
            Labels: new Dictionary<string, string> { [ThreeNodeCluster.PlacementLabel] = ThreeNodeCluster.Nodes[N2] })));
        var started = await _cluster.Client(2).StartAsync(id, new StartOptions(Rootfs: [BusyboxImage.BindMount(ShimTestEnvironment.ImageDirectory)]));
        Assert.Equal(ThreeNodeCluster.Nodes[N2], _cluster.RunsOn(id));
        return started.Pid;
    }

    [Fact]
    public async Task A_node_killed_is_unavailable_and_listed_unknown_and_back_before_the_grace_period_keeps_its_containers_and_publishes_an_exit_from_its_absence_once()
    {
        var diedAway = await RunOnN2Async("died-away");
        await RunOnN2Async("lives-on");
        var stream = new ThreeNodeCluster.Recorder();
        await using var subscription = await _cluster.Client(0).SubscribeAsync(stream, afterOffset: 0);

        await _cluster.KillAsync(N2);
        // Asked from the other nodes meanwhile: Unavailable naming the node, at once rather than at a deadline.
        foreach (var n in new[] { 0, 2 })
        {
            var unavailable = await Assert.ThrowsAsync<UnavailableException>(() => _cluster.Client(n).StatusAsync("lives-on"));
            Assert.Contains("n2", unavailable.Message);
        }
        // Listed all the same, as unknown: ctr task ls through n1.
        var tasks = await Shell.CheckAsync("ctr", "-a", _cluster.Address(0), "-n", _cluster.Namespace, "task", "ls");
        foreach (var id in new[] { "died-away", "lives-on" })
            Assert.Contains(tasks.Split('\n'), line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var task, "0", "UNKNOWN"] && task == id);
        // A container's process ends while its node is away: the shim sees it, no runtime is there to hear it.
        HostProcesses.Kill((int)diedAway);
        await HostProcesses.WaitUntilGoneAsync((int)diedAway, Bound);

        await _cluster.StartNodeAsync(N2);

        await EventuallyAsync(async () =>
        {
            try
            {
                return (await _cluster.Client(0).StatusAsync("died-away")).Status == ProcessStatus.Stopped;
            }
            catch (UnavailableException)
            {
                return false; // n2 not seen Up again yet
            }
        }, "the exit from n2's absence, seen from n1", Rejoin, () => _cluster.Logs());
        for (var n = 0; n < 3; n++)
        {
            Assert.Equal((ProcessStatus.Stopped, 137u), await StatusOf(n, "died-away"));
            Assert.Equal(ProcessStatus.Running, (await StatusOf(n, "lives-on")).Status);
        }

        // A later exit marks the point up to which the stream is read: the one from the absence came once before it.
        await _cluster.Client(2).SignalAsync("lives-on", null, 9);
        await EventuallyAsync(() => stream.Events.Any(e => e is { Kind: ContainerEventKind.Exit, ContainerId: "lives-on" }),
            "lives-on's exit in the stream", Bound, stream.ToString);
        var exits = stream.Events.Where(e => e.Kind == ContainerEventKind.Exit).ToList();
        Assert.Equal([("died-away", 137u, "n2"), ("lives-on", 137u, "n2")], exits.Select(e => (e.ContainerId, e.ExitStatus, e.Node)));

        foreach (var id in new[] { "died-away", "lives-on" })
        {
            await _cluster.Client(2).DeleteTaskAsync(id);
            await _cluster.Client(0).DeleteAsync(id);
        }
    }

    private async Task<(ProcessStatus Status, uint ExitStatus)> StatusOf(int n, string id)
    {
        var status = await _cluster.Client(n).StatusAsync(id);
        return (status.Status, status.ExitStatus);
    }
}
