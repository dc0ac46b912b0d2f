using ActorRuntime.Events;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;
using ActorRuntime.TestKit;
using Akka.Actor;
using Xunit.Abstractions;
using Methods = ActorRuntime.Protocol.Shim.TaskApi.Methods;

namespace ActorRuntime.Tests.Runtime;

/// <summary>
/// The shim's connection breaks in the middle of a lifecycle call: the caller hears promptly, nothing leaks, and the bus
/// says only what the task's record says is owed.
/// </summary>
public sealed class ConnectionDropSpec(ITestOutputHelper output) : RuntimeSpecBase(output)
{
    /// <summary>Well inside the runtime's command timeout (tens of seconds): the call timeout plus the teardown.</summary>
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(4);

    private static TaskProtocol.Create Create(string id) => new(id, Spec, [], Stdio.Null);

    private async Task<TaskProtocol.Failed> CreateDroppedAsync(string id, bool afterEffect)
    {
        Launcher.Configure = s => s.Inject(Methods.Create, new ShimFault.Drop(afterEffect));
        var caller = CreateTestProbe();
        Manager.Tell(InDefault(Create(id)), caller.Ref);
        var failed = await caller.ExpectMsgAsync<TaskProtocol.Failed>(Prompt);
        Launcher.Configure = null;
        return failed;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_Create_whose_connection_drops_fails_promptly_and_leaves_nothing_behind(bool afterEffect)
    {
        var failed = await CreateDroppedAsync("c1", afterEffect);

        Assert.Equal(TtrpcCode.Unavailable, failed.Code);
        Assert.Contains("c1", failed.Message);
        Assert.Contains("shim connection lost", failed.Message);
        // Torn down by the one cleanup: the shim binary's delete (which kills what the shim created), socket and bundle.
        Assert.Equal(1, Launcher.DeleteCalls);
        Assert.True(Launcher["c1"].IsDead);
        Assert.False(File.Exists(Launcher["c1"].SocketPath), "socket left behind");
        Assert.False(Directory.Exists(BundlePath("c1")), "bundle left behind");
        Assert.Empty(await Runtime.ListAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_shim_still_serving_after_its_connection_dropped_is_shut_down_by_the_cleanup(bool afterEffect)
    {
        // As the real binary: its delete removes the container but leaves a serving shim process running.
        Launcher.DeleteLeavesLiveShims = true;
        var failed = await CreateDroppedAsync("c1", afterEffect);

        Assert.Equal(TtrpcCode.Unavailable, failed.Code);
        Assert.True(Launcher["c1"].IsDead, "the shim the connection dropped from still runs");
        Assert.False(File.Exists(Launcher["c1"].SocketPath), "socket left behind");
        Assert.False(Directory.Exists(BundlePath("c1")), "bundle left behind");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task After_a_Create_whose_connection_dropped_the_id_can_be_created_again(bool afterEffect)
    {
        await CreateDroppedAsync("c1", afterEffect);

        var pid = await Runtime.CreateAsync("c1", Spec, []);
        Assert.Equal(Launcher["c1"].PidOf("c1"), pid);
        Assert.Equal(["c1"], await Runtime.ListAsync());
        Assert.Equal(pid, await Runtime.StartAsync("c1"));
        await WaitForEventAsync("c1", Topics.Start);
        Assert.Contains(EventsOf("c1", Topics.Create), e => e.Pid == pid);
        Assert.Equal([pid], EventsOf("c1", Topics.Start).Select(e => e.Pid));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_task_whose_Create_dropped_gets_no_exit_or_delete_not_even_after_a_restart(bool afterEffect)
    {
        await CreateDroppedAsync("c1", afterEffect);
        await QuietAsync();
        Assert.Empty(EventsOf("c1", Topics.Exit));
        Assert.Empty(EventsOf("c1", Topics.Delete));

        await StopRuntimeAsync();
        await StartRuntimeAsync();
        await Runtime.AwaitLoadedAsync().WaitAsync(Bound);
        await QuietAsync();
        Assert.Empty(EventsOf("c1", Topics.Exit));
        Assert.Empty(EventsOf("c1", Topics.Delete));
        Assert.Empty(await Runtime.ListAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_Start_whose_connection_drops_fails_promptly_and_the_dead_shim_is_cleaned_up_once(bool afterEffect)
    {
        var pid = await Runtime.CreateAsync("c1", Spec, []);
        Launcher["c1"].Inject(Methods.Start, new ShimFault.Drop(afterEffect));

        var e = await Assert.ThrowsAsync<UnavailableException>(() => Runtime.StartAsync("c1").WaitAsync(Prompt));
        Assert.Equal("task c1: shim connection lost before it answered", e.Message);

        // The task existed (its record was written at Create): the dead shim's cleanup publishes its exit and delete.
        Assert.True((await ExpectCleanedAsync("c1")).Published);
        Assert.Equal(1, Launcher.DeleteCalls);
        Assert.False(File.Exists(Launcher["c1"].SocketPath), "socket left behind");
        Assert.False(Directory.Exists(BundlePath("c1")), "bundle left behind");
        Assert.Empty(await Runtime.ListAsync());
        await QuietAsync();
        Assert.Equal([pid], EventsOf("c1", Topics.Exit).Select(x => x.Pid));
        Assert.Single(EventsOf("c1", Topics.Delete));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_Delete_whose_connection_drops_fails_promptly_and_the_exit_and_delete_go_out_once(bool afterEffect)
    {
        var pid = await RunAsync("c1");
        await Runtime.KillAsync("c1", 9);
        await Runtime.WaitAsync("c1").WaitAsync(Bound);
        Launcher["c1"].Inject(Methods.Delete, new ShimFault.Drop(afterEffect));

        var e = await Assert.ThrowsAsync<UnavailableException>(() => Runtime.DeleteAsync("c1").WaitAsync(Prompt));
        Assert.Contains("c1", e.Message);

        await ExpectCleanedAsync("c1");
        Assert.Equal(1, Launcher.DeleteCalls);
        Assert.False(File.Exists(Launcher["c1"].SocketPath), "socket left behind");
        Assert.False(Directory.Exists(BundlePath("c1")), "bundle left behind");
        Assert.Empty(await Runtime.ListAsync());
        await QuietAsync();
        Assert.Equal([(pid, 137u)], EventsOf("c1", Topics.Exit).Select(x => (x.Pid, x.ExitStatus)));
        Assert.Single(EventsOf("c1", Topics.Delete));
    }

    [Fact]
    public async Task Commands_waiting_behind_a_call_whose_connection_drops_are_answered_too()
    {
        await Runtime.CreateAsync("c1", Spec, []);
        var shim = Launcher["c1"];
        shim.Inject(Methods.Start, new ShimFault.Gate(new TaskCompletionSource().Task));
        var start = CreateTestProbe();
        var kill = CreateTestProbe();
        var wait = CreateTestProbe();
        Manager.Tell(InDefault(new TaskProtocol.Start("c1")), start.Ref);
        await EventuallyAsync(() => CallsOf(shim, Methods.Start) == 1, "the Start to reach the shim", Bound);
        // Behind the Start: a lifecycle command (stashed) and a waiter. Dropped only once the waiter's Wait has reached the
        // shim: the task actor then holds both (the Kill came first on the same path), rather than its shim actor
        // answering them after the drop.
        Manager.Tell(InDefault(new TaskProtocol.Kill("c1", 9)), kill.Ref);
        Manager.Tell(InDefault(new TaskProtocol.Wait("c1")), wait.Ref);
        await EventuallyAsync(() => CallsOf(shim, Methods.Wait) == 1, "the waiter's Wait to reach the shim", Bound);

        await shim.DropConnectionsAsync();

        foreach (var caller in new[] { start, kill, wait })
        {
            var failed = await caller.ExpectMsgAsync<TaskProtocol.Failed>(Prompt);
            Assert.Equal((TtrpcCode.Unavailable, "task c1: shim connection lost before it answered"), (failed.Code, failed.Message));
        }
        await ExpectCleanedAsync("c1");
    }
}
