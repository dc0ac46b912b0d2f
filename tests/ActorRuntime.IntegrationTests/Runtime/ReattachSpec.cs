using ActorRuntime.Events;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using ActorRuntime.Oci;

namespace ActorRuntime.IntegrationTests.Runtime;

/// <summary>
/// A restarted runtime re-attaches tasks and their execs from its durable process store and the shims: what exited
/// while nothing watched is published once with its real status, and the execs can be waited on and deleted again.
/// </summary>
public sealed class ReattachSpec
{
    [Fact]
    public async Task Execs_of_a_reloaded_task_are_reattached_and_their_exit_while_down_is_published_once()
    {
        await using var env = new ShimTestEnvironment();
        var first = await HostedRuntime.StartAsync(env);
        await first.CreateAsync(env, "box", "sleep", "300");
        await first.Runtime.StartAsync("box");
        await first.Runtime.ExecAsync("box", "quick", OciSpec.ProcessJson(["sh", "-c", "sleep 1; exit 4"]));
        await first.Runtime.StartExecAsync("box", "quick");
        await first.Runtime.ExecAsync("box", "long", OciSpec.ProcessJson(["sleep", "300"]));
        var longPid = await first.Runtime.StartExecAsync("box", "long");
        await first.DisposeAsync();

        // Down: the quick exec exits with 4 while nothing watches.
        await Task.Delay(TimeSpan.FromSeconds(2));

        await using var second = await HostedRuntime.StartAsync(env);
        Assert.Equal(new[] { "box" }, await second.Runtime.ListAsync());
        await EventuallyAsync(() => second.Events.Any(e => e.ExecId == "quick" && e.Topic == Topics.Exit),
            "exit of the exec that ended while down", TimeSpan.FromSeconds(20), second.Recorder.ToString);
        var quick = await second.Runtime.WaitExecAsync("box", "quick").WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(4u, quick.ExitStatus);
        var longState = await second.Runtime.ExecStateAsync("box", "long");
        Assert.Equal((ProcessStatus.Running, longPid), (longState.Status, longState.Pid));

        await second.Runtime.KillExecAsync("box", "long", 9);
        Assert.Equal(137u, (await second.Runtime.WaitExecAsync("box", "long").WaitAsync(TimeSpan.FromSeconds(10))).ExitStatus);
        await second.Runtime.DeleteExecAsync("box", "quick");
        await second.Runtime.DeleteExecAsync("box", "long");
        await second.Runtime.KillAsync("box", 9);
        await second.Runtime.WaitAsync("box").WaitAsync(TimeSpan.FromSeconds(10));
        await second.Runtime.DeleteAsync("box");
        await Task.Delay(700);

        var events = second.Events;
        var quickExit = Assert.Single(events, e => e.ExecId == "quick" && e.Topic == Topics.Exit);
        Assert.Equal(4u, quickExit.ExitStatus);
        Assert.Single(events, e => e.ExecId == "long" && e.Topic == Topics.Exit);
        Assert.Single(events, e => e.ContainerId == "box" && e.ExecId == "" && e.Topic == Topics.Exit);
        Assert.Single(events, e => e.ContainerId == "box" && e.Topic == Topics.Delete);
        await LeakCheck.AssertCleanAsync(env);
    }
}
