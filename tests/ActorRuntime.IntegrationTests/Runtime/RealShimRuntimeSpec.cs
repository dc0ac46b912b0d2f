using System.Diagnostics;
using ActorRuntime.Events;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using ActorRuntime.Oci;
using ActorRuntime.Testing;
using Akka.Actor;

namespace ActorRuntime.IntegrationTests.Runtime;

/// <summary>
/// The actor runtime against the real containerd-shim-runc-v2: exits are published exactly once whatever the shim
/// does, dead shims are cleaned up, and one wedged shim does not slow the others.
/// </summary>
public sealed class RealShimRuntimeSpec : IAsyncLifetime
{
    private const uint SigKill = 9;
    private readonly ShimTestEnvironment _env = new();
    private RealRuntime _rt = null!;

    public async Task InitializeAsync()
    {
        try
        {
            _rt = await RealRuntime.StartAsync(_env);
        }
        catch
        {
            // xunit disposes no test class whose InitializeAsync threw: the environment's shims and directories go now.
            await _env.DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        await _rt.DisposeAsync();
        await _env.DisposeAsync();
    }

    private static readonly string[] Lifecycle = [Topics.Create, Topics.Start, Topics.Exit, Topics.Delete];

    /// <summary>
    /// Waits on the runtime, not the clock, before counting. Every lifecycle event comes twice: published by the task
    /// actor and forwarded by the shim, in either order. Create and start go to the bus, which drops the later copy;
    /// exit and delete are witnesses offered to the one door for exits. Once the bus has dropped two copies per
    /// container, the door has had the shim's own exit and delete of each container, and the bus has delivered all four
    /// events, no copy is still on its way: a duplicate let through would be among the events counted.
    /// </summary>
    private static Task BothCopiesArrivedAsync(RealRuntime rt, params string[] ids) =>
        EventuallyAsync(async () =>
                // The door first: whatever it let through was sent to the bus before the bus is asked below.
                (await rt.Runtime.ExitStatsAsync()).WitnessedFrom(ExitWitness.Source.Forwarded) >= 2 * ids.Length &&
                await rt.DuplicatesDroppedAsync() >= 2 * ids.Length &&
                ids.All(id => Lifecycle.All(topic => rt.EventsOf(id, topic).Count > 0)),
            $"both copies of every lifecycle event of {string.Join(", ", ids)}", TimeSpan.FromSeconds(20),
            rt.Recorder.ToString);

    /// <summary>
    /// Waits until the bus delivered the exit and delete a dead shim's cleanup publishes. Its shim is gone, so nothing
    /// else of the run is on its way.
    /// </summary>
    private static Task CleanupPublishedAsync(RealRuntime rt, string id) =>
        EventuallyAsync(() => rt.EventsOf(id, Topics.Exit).Count > 0 && rt.EventsOf(id, Topics.Delete).Count > 0,
            $"the exit and delete of {id} from the cleanup of its dead shim", TimeSpan.FromSeconds(15), rt.Recorder.ToString);

    [Fact]
    public async Task Exit_status_3_is_published_exactly_once_with_one_delete()
    {
        var pid = await _rt.CreateAsync("exit3", "sh", "-c", "exit 3");
        Assert.True(pid > 0);
        await _rt.Runtime.StartAsync("exit3");
        var exited = await _rt.Runtime.WaitAsync("exit3").WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(3u, exited.ExitStatus);
        var deleted = await _rt.Runtime.DeleteAsync("exit3");
        Assert.Equal(3u, deleted.ExitStatus);
        await BothCopiesArrivedAsync(_rt, "exit3");

        var exits = _rt.EventsOf("exit3", Topics.Exit);
        var exit = Assert.Single(exits);
        Assert.Equal(3u, exit.ExitStatus);
        Assert.Equal(pid, exit.Pid);
        Assert.Single(_rt.EventsOf("exit3", Topics.Delete));
        Assert.Single(_rt.EventsOf("exit3", Topics.Create));
        Assert.Single(_rt.EventsOf("exit3", Topics.Start));
        var order = _rt.Events.Where(e => e.ContainerId == "exit3").Select(e => e.Topic).ToList();
        Assert.Equal([Topics.Create, Topics.Start, Topics.Exit, Topics.Delete], order);
        await LeakCheck.AssertCleanAsync(_env);
    }

    [Fact]
    public async Task Sigkill_of_the_shim_yields_one_exit_and_one_delete_and_its_leftovers_are_cleaned()
    {
        var pid = await _rt.CreateAsync("victim", "sleep", "300");
        await _rt.Runtime.StartAsync("victim");
        var shim = Assert.Single(_env.OwnShims());
        var cleaned = new TaskCompletionSource<ShimManagerProtocol.DeadShimCleaned>();
        var listener = _rt.System.ActorOf(Props.Create(() => new Forwarder<ShimManagerProtocol.DeadShimCleaned>(cleaned)));
        _rt.System.EventStream.Subscribe(listener, typeof(ShimManagerProtocol.DeadShimCleaned));

        HostProcesses.Kill(shim.Pid);
        var outcome = await cleaned.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal("victim", outcome.ContainerId);
        Assert.True(outcome.Published);
        await CleanupPublishedAsync(_rt, "victim");

        // The shim binary's delete reports what it did: it killed the orphaned container (137).
        var exit = Assert.Single(_rt.EventsOf("victim", Topics.Exit));
        Assert.Equal(137u, exit.ExitStatus);
        Assert.Equal(pid, exit.Pid);
        var delete = Assert.Single(_rt.EventsOf("victim", Topics.Delete));
        Assert.Equal(137u, delete.ExitStatus);
        Assert.True(exit.Offset < delete.Offset, "exit must precede delete");
        await Assert.ThrowsAsync<NotFoundException>(() => _rt.Runtime.StateAsync("victim"));
        Assert.False(HostProcesses.IsAlive((int)pid), "the container's init must be gone");
        await LeakCheck.AssertCleanAsync(_env);
    }

    [Fact]
    public async Task Fifty_containers_started_concurrently_each_exit_exactly_once()
    {
        var ids = Enumerable.Range(0, 50).Select(i => $"many-{i}").ToList();
        await Task.WhenAll(ids.Select(async (id, i) =>
        {
            await _rt.CreateAsync(id, "sh", "-c", $"exit {i}");
            await _rt.Runtime.StartAsync(id);
        })).WaitAsync(TimeSpan.FromMinutes(3));
        var exits = await Task.WhenAll(ids.Select(id => _rt.Runtime.WaitAsync(id))).WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (uint)i), exits.Select(e => e.ExitStatus));
        await Task.WhenAll(ids.Select(id => _rt.Runtime.DeleteAsync(id))).WaitAsync(TimeSpan.FromMinutes(2));
        await BothCopiesArrivedAsync(_rt, [.. ids]);

        for (var i = 0; i < ids.Count; i++)
        {
            var exit = Assert.Single(_rt.EventsOf(ids[i], Topics.Exit));
            Assert.Equal((uint)i, exit.ExitStatus);
            Assert.Single(_rt.EventsOf(ids[i], Topics.Delete));
        }
        await LeakCheck.AssertCleanAsync(_env);
    }

    [Fact]
    public async Task One_sigstopped_shim_among_ten_busy_containers_leaves_the_other_nine_unaffected()
    {
        var ids = Enumerable.Range(0, 10).Select(i => $"busy-{i}").ToList();
        foreach (var id in ids)
        {
            // Busy: a shell loop keeps the container doing work while we query it.
            await _rt.CreateAsync(id, "sh", "-c", "while true; do echo x > /dev/null; done");
            await _rt.Runtime.StartAsync(id);
        }
        var shims = _env.OwnShims();
        Assert.Equal(10, shims.Count);
        var wedgedShim = shims.Single(s => s.Cwd!.EndsWith("/busy-0", StringComparison.Ordinal));
        Assert.Equal(0, HostProcesses.Run("kill", "-STOP", wedgedShim.Pid.ToString()).ExitCode);
        try
        {
            var wedged = Stopwatch.StartNew();
            var wedgedCall = _rt.Runtime.StateAsync("busy-0");
            var others = await Task.WhenAll(ids.Skip(1).Select(async id =>
            {
                var state = await _rt.Runtime.StateAsync(id);
                return (State: state, Completed: wedgedCall.IsCompleted);
            }));
            Assert.All(others, o =>
            {
                Assert.Equal(ProcessStatus.Running, o.State.Status);
                Assert.False(o.Completed, "a healthy container's State must not wait for the wedged shim's deadline");
            });
            // Past its deadline the wedged task's State is "unknown", as containerd's getProcessState answers.
            Assert.Equal(ProcessStatus.Unknown, (await wedgedCall).Status);
            Assert.True(wedged.Elapsed >= _rt.Settings.StateTimeout - TimeSpan.FromMilliseconds(100));

            // Stopping the runtime completes while the wedged shim is still stopped (it would never answer a Shutdown).
            await _rt.System.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(HostProcesses.IsAlive(wedgedShim.Pid), "the wedged shim outlives the runtime, as containerd's do");
        }
        finally
        {
            HostProcesses.Run("kill", "-CONT", wedgedShim.Pid.ToString());
        }
        // Containers keep running when the runtime stops (as with containerd); a new runtime reloads and removes them.
        await using var next = await RealRuntime.StartAsync(_env);
        var loaded = await next.Runtime.AwaitLoadedAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(10, loaded.Reloaded);
        foreach (var id in ids)
        {
            await next.Runtime.KillAsync(id, SigKill);
            await next.Runtime.WaitAsync(id).WaitAsync(TimeSpan.FromSeconds(20));
            await next.Runtime.DeleteAsync(id);
        }
        await LeakCheck.AssertCleanAsync(_env);
    }

    [Fact]
    public async Task A_task_that_exited_unwatched_while_its_shim_died_too_is_published_once_with_status_255()
    {
        var pid = await _rt.CreateAsync("lost", "sh", "-c", "sleep 2; exit 3");
        await _rt.Runtime.StartAsync("lost");
        var shim = Assert.Single(_env.OwnShims());
        // The runtime goes away (its shims and containers stay), then the shim dies, then the container exits: its
        // status went nowhere.
        await _rt.System.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
        HostProcesses.Kill(shim.Pid);
        await HostProcesses.WaitUntilGoneAsync((int)pid, TimeSpan.FromSeconds(10));

        await using var next = await RealRuntime.StartAsync(_env);
        var loaded = await next.Runtime.AwaitLoadedAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((0, 1), (loaded.Reloaded, loaded.CleanedUp));
        await CleanupPublishedAsync(next, "lost");
        var exit = Assert.Single(next.EventsOf("lost", Topics.Exit));
        Assert.Equal((pid, DeadShimCleanup.UnknownExitStatus), (exit.Pid, exit.ExitStatus));
        Assert.Equal(255u, Assert.Single(next.EventsOf("lost", Topics.Delete)).ExitStatus);
        await LeakCheck.AssertCleanAsync(_env);
    }

    [Fact]
    public async Task Containers_grouped_on_one_shim_share_it_and_only_the_last_delete_shuts_it_down()
    {
        var group = new Dictionary<string, string> { ["io.containerd.runc.v2.group"] = "pod1" };
        var mount = BusyboxImage.BindMount(ShimTestEnvironment.ImageDirectory);
        foreach (var id in new[] { "pod1-a", "pod1-b" })
        {
            await _rt.Runtime.CreateAsync(id, OciSpec.ConfigJson(_env.Namespace, id,
                new OciContainerSpec(["sleep", "300"]) { Annotations = group }), [mount]);
            await _rt.Runtime.StartAsync(id);
        }
        var shim = Assert.Single(_env.OwnShims());

        await _rt.Runtime.KillAsync("pod1-a", SigKill);
        Assert.Equal(137u, (await _rt.Runtime.WaitAsync("pod1-a").WaitAsync(TimeSpan.FromSeconds(20))).ExitStatus);
        await _rt.Runtime.DeleteAsync("pod1-a");
        Assert.True(HostProcesses.IsAlive(shim.Pid), "the shim still hosts pod1-b and must live on");
        Assert.Equal(ProcessStatus.Running, (await _rt.Runtime.StateAsync("pod1-b")).Status);

        await _rt.Runtime.KillAsync("pod1-b", SigKill);
        await _rt.Runtime.WaitAsync("pod1-b").WaitAsync(TimeSpan.FromSeconds(20));
        await _rt.Runtime.DeleteAsync("pod1-b");
        await HostProcesses.WaitUntilGoneAsync(shim.Pid, TimeSpan.FromSeconds(5));
        await BothCopiesArrivedAsync(_rt, "pod1-a", "pod1-b");
        Assert.Single(_rt.EventsOf("pod1-a", Topics.Exit));
        Assert.Single(_rt.EventsOf("pod1-b", Topics.Exit));
        await LeakCheck.AssertCleanAsync(_env);
    }

    private sealed class Forwarder<T> : ReceiveActor
    {
        public Forwarder(TaskCompletionSource<T> target) => Receive<T>(m => target.TrySetResult(m));
    }
}
