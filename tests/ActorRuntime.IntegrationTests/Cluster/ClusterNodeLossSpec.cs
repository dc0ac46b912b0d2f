using ActorRuntime.Client;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Oci;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
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
    private const int N3 = 2;

    private ThreeNodeCluster? _started;

    private ThreeNodeCluster _cluster => _started ?? throw new InvalidOperationException("the cluster is not started");

    /// <summary>The cluster, downing a node 3 s after it is seen unreachable; <paramref name="grace"/> before giving it up.</summary>
    private async Task StartAsync(string grace) => _started = await ThreeNodeCluster.StartAsync(ShimTestEnvironment.TestRoot, Bound, $"""
        actor-runtime.cluster.split-brain-resolver.stable-after = 3s
        actor-runtime.cluster.down-removal-margin = 1s
        actor-runtime.cluster.node-lost-grace-period = {grace}
        """);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_started is not null) await _started.DisposeAsync();
    }

    private async Task<uint> RunOnAsync(int node, string id)
    {
        var spec = OciSpec.ConfigJson(_cluster.Namespace, id, new OciContainerSpec(["sleep", "600"]));
        await ThreeNodeCluster.UntilUpAsync(() => _cluster.Client(0).CreateAsync(new NewContainer(id, spec,
            Labels: new Dictionary<string, string> { [ThreeNodeCluster.PlacementLabel] = ThreeNodeCluster.Nodes[node] })));
        // Started through another node, which may see a node that just returned Up a moment later than n1 does.
        uint pid = 0;
        await ThreeNodeCluster.UntilUpAsync(async () => pid = (await _cluster.Client(node == 2 ? 1 : 2).StartAsync(id,
            new StartOptions(Rootfs: [BusyboxImage.BindMount(ShimTestEnvironment.ImageDirectory)]))).Pid);
        Assert.Equal(ThreeNodeCluster.Nodes[node], _cluster.RunsOn(id));
        return pid;
    }

    private Task<uint> RunOnN2Async(string id) => RunOnAsync(N2, id);

    [Fact]
    public async Task A_node_killed_is_unavailable_and_listed_unknown_and_back_before_the_grace_period_keeps_its_containers_and_publishes_an_exit_from_its_absence_once()
    {
        await StartAsync("5m");
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

    [Fact]
    public async Task A_node_back_after_its_grace_period_finds_its_containers_given_up_once_by_the_cluster_and_kills_them_before_serving()
    {
        await StartAsync("4s");
        var pids = new[] { await RunOnN2Async("given-up-1"), await RunOnN2Async("given-up-2") };
        var stream = new ThreeNodeCluster.Recorder();
        await using var subscription = await _cluster.Client(0).SubscribeAsync(stream, afterOffset: 0);

        await _cluster.KillAsync(N2);
        // Downed, then the grace period: the cluster publishes one exit 255 "node lost" and one delete per container.
        await EventuallyAsync(() => stream.Events.Count(e => e is { Kind: ContainerEventKind.Delete, Reason: "node lost" }) == 2,
            "the given-up containers' deletes", Rejoin, stream.ToString);
        // Given up: gone from the cluster's view, though their processes still run on the absent node.
        foreach (var id in new[] { "given-up-1", "given-up-2" })
            await EventuallyAsync(async () => await IsNotFoundAsync(0, id), $"{id} gone from n1's view", Bound);
        Assert.All(pids, pid => Assert.True(HostProcesses.IsAlive((int)pid), $"{pid} ended before its node returned"));

        // The node returns: before it serves, it kills and cleans up what was given up, publishing nothing for it.
        await _cluster.StartNodeAsync(N2);
        foreach (var pid in pids) await HostProcesses.WaitUntilGoneAsync((int)pid, Bound);
        Assert.Equal([], Bundle.List(_cluster.State(N2)).Select(b => b.Id));
        Assert.Equal([], _cluster.Leftovers());

        // The id is free again, on the same node: a new run of it ends with 137, the stream's marker for what came before.
        await RunOnN2Async("given-up-1");
        await _cluster.Client(0).SignalAsync("given-up-1", null, 9);
        await EventuallyAsync(() => stream.Events.Any(e => e is { Kind: ContainerEventKind.Exit, ContainerId: "given-up-1", ExitStatus: 137 }),
            "the new given-up-1's exit", Bound, stream.ToString);
        var exits = stream.Events.Where(e => e.Kind == ContainerEventKind.Exit).Select(e => (e.ContainerId, e.ExitStatus, e.Node, e.Reason));
        Assert.Equal([("given-up-1", 255u, "n2", "node lost"), ("given-up-2", 255u, "n2", "node lost"), ("given-up-1", 137u, "n2", null)],
            exits);
        var deletes = stream.Events.Where(e => e.Kind == ContainerEventKind.Delete).Select(e => (e.ContainerId, e.ExitStatus, e.Reason));
        Assert.Equal([("given-up-1", 255u, "node lost"), ("given-up-2", 255u, "node lost")], deletes);

        await _cluster.Client(0).DeleteTaskAsync("given-up-1");
        await _cluster.Client(0).DeleteAsync("given-up-1");
    }

    [Fact]
    public async Task A_node_frozen_past_its_downing_restarts_its_runtime_when_it_thaws_and_its_container_keeps_running()
    {
        await StartAsync("5m");
        var pid = await RunOnAsync(N3, "frozen");
        _cluster.Freeze(N3);
        try
        {
            // Downed and removed by the other two: they no longer count it a member.
            await EventuallyAsync(async () =>
            {
                try
                {
                    await _cluster.Client(0).StatusAsync("frozen");
                    return false;
                }
                catch (UnavailableException e)
                {
                    return e.Message.Contains("n3 is not a member");
                }
            }, "n3 removed from the cluster", Rejoin, () => _cluster.Logs());
        }
        finally
        {
            _cluster.Thaw(N3);
        }
        // Thawed, it finds itself downed, starts its runtime again and rejoins: its container is the one still running.
        await EventuallyAsync(async () =>
        {
            try
            {
                return (await _cluster.Client(0).StatusAsync("frozen")).Status == ProcessStatus.Running;
            }
            catch (UnavailableException)
            {
                return false;
            }
        }, "n3 back, with its container", Rejoin, () => _cluster.Logs(60));
        // The cluster reaches n3's runtime before n3's own socket serves again (it binds once its shims are reloaded).
        await _cluster.WaitServingAsync(N3);
        Assert.Contains("this node was downed by the cluster: actorruntimed starts again", _cluster.Logs(int.MaxValue));
        Assert.Equal(pid, (await _cluster.Client(N3).StatusAsync("frozen")).Pid);

        await _cluster.Client(0).SignalAsync("frozen", null, 9);
        await EventuallyAsync(async () => (await _cluster.Client(0).StatusAsync("frozen")).Status == ProcessStatus.Stopped,
            "frozen stopped", Bound);
        await _cluster.Client(0).DeleteTaskAsync("frozen");
        await _cluster.Client(0).DeleteAsync("frozen");
    }

    [Fact]
    public async Task A_node_frozen_past_its_grace_period_publishes_nothing_of_a_given_up_container_that_exited_meanwhile_when_it_thaws()
    {
        await StartAsync("4s");
        var pid = await RunOnAsync(N3, "thawed-late");
        var stream = new ThreeNodeCluster.Recorder();
        await using (await _cluster.Client(0).SubscribeAsync(stream, afterOffset: 0))
        {
            _cluster.Freeze(N3);
            try
            {
                await EventuallyAsync(() => stream.Events.Any(e => e is { Kind: ContainerEventKind.Delete, ContainerId: "thawed-late" }),
                    "thawed-late given up", Rejoin, stream.ToString);
                // Its process ends now: the shim sends the exit to its runtime, which is frozen and has not heard of the give-up.
                HostProcesses.Kill((int)pid);
                await HostProcesses.WaitUntilGoneAsync((int)pid, Bound);
            }
            finally
            {
                _cluster.Thaw(N3);
            }
            // Thawed, n3 finds itself downed, starts again, fences what was given up and serves.
            await _cluster.WaitServingAsync(N3);
            await EventuallyAsync(async () => await IsNotFoundAsync(0, "thawed-late") && !Bundle.List(_cluster.State(N3)).Any(),
                "thawed-late gone from n1's view and from n3's state", Rejoin, () => _cluster.Logs(40));
            Assert.Contains("this node was downed by the cluster: actorruntimed starts again", _cluster.Logs(int.MaxValue));

            // A later exit on n3 marks the point up to which the stream is read.
            await RunOnAsync(N3, "after-thaw");
            await _cluster.Client(0).SignalAsync("after-thaw", null, 9);
            await EventuallyAsync(() => stream.Events.Any(e => e is { Kind: ContainerEventKind.Exit, ContainerId: "after-thaw" }),
                "after-thaw's exit", Bound, stream.ToString);
        }

        // Live and read again from 0: thawed-late's only exit is the cluster's.
        var reread = new ThreeNodeCluster.Recorder();
        await using (await _cluster.Client(1).SubscribeAsync(reread, afterOffset: 0))
        {
            await EventuallyAsync(() => reread.Events.Any(e => e is { Kind: ContainerEventKind.Exit, ContainerId: "after-thaw" }),
                "after-thaw's exit, read from 0", Bound, reread.ToString);
        }
        foreach (var recorded in new[] { stream, reread })
        {
            var exits = recorded.Events.Where(e => e.Kind == ContainerEventKind.Exit).Select(e => (e.ContainerId, e.ExitStatus, e.Node, e.Reason));
            Assert.Equal([("thawed-late", 255u, "n3", "node lost"), ("after-thaw", 137u, "n3", null)], exits);
            Assert.Single(recorded.Events, e => e is { Kind: ContainerEventKind.Delete, ContainerId: "thawed-late" });
        }

        await _cluster.Client(0).DeleteTaskAsync("after-thaw");
        await _cluster.Client(0).DeleteAsync("after-thaw");
    }

    private async Task<bool> IsNotFoundAsync(int n, string id)
    {
        try
        {
            await _cluster.Client(n).StatusAsync(id);
            return false;
        }
        catch (NotFoundException)
        {
            return true;
        }
    }

    /// <summary>
    /// The status as node <paramref name="n"/> answers it, once that node sees the owner Up again: each node learns of a
    /// returning node by gossip, one after the other.
    /// </summary>
    private async Task<(ProcessStatus Status, uint ExitStatus)> StatusOf(int n, string id)
    {
        TaskStatusInfo? status = null;
        await ThreeNodeCluster.UntilUpAsync(async () => status = await _cluster.Client(n).StatusAsync(id));
        return (status!.Status, status.ExitStatus);
    }
}
