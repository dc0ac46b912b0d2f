using ActorRuntime.Events;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using ActorRuntime.TestKit;
using Xunit.Abstractions;
using Methods = ActorRuntime.Protocol.Shim.TaskApi.Methods;

namespace ActorRuntime.Tests.Runtime;

// Lifecycle calls get a deadline no delay of the machine reaches: a spec here holds one in flight on purpose.
public sealed class ExecActorSpec(ITestOutputHelper output) : RuntimeSpecBase(output, o => o.CallTimeout = TimeSpan.FromSeconds(30))
{
    private const string ProcessSpec = """{"args":["sh"],"cwd":"/"}""";

    [Fact]
    public async Task Exec_start_wait_delete_runs_an_exec_and_publishes_its_exit_once()
    {
        await RunAsync("c1");
        await Runtime.ExecAsync("c1", "e1", ProcessSpec);
        Assert.Equal(ProcessStatus.Created, (await Runtime.ExecStateAsync("c1", "e1")).Status);
        var pid = await Runtime.StartExecAsync("c1", "e1");
        Assert.Equal(pid, Launcher["c1"].PidOf("c1", "e1"));

        var wait = Runtime.WaitExecAsync("c1", "e1");
        await Launcher["c1"].ExitAsync("c1", 5, "e1");
        var exited = await wait.WaitAsync(Bound);
        Assert.Equal(("e1", pid, 5u), (exited.ExecId, exited.Pid, exited.ExitStatus));

        var deleted = await Runtime.DeleteExecAsync("c1", "e1");
        Assert.Equal(5u, deleted.ExitStatus);
        var e = await Assert.ThrowsAsync<NotFoundException>(() => Runtime.ExecStateAsync("c1", "e1"));
        Assert.Equal("process does not exist e1: not found", e.Message);
        Assert.Equal(ProcessStatus.Running, (await Runtime.StateAsync("c1")).Status);

        await QuietAsync();
        Assert.Single(EventsOf("c1", Topics.ExecAdded, "e1"));
        Assert.Single(EventsOf("c1", Topics.ExecStarted, "e1"));
        var exit = Assert.Single(EventsOf("c1", Topics.Exit, "e1"));
        Assert.Equal((pid, 5u), (exit.Pid, exit.ExitStatus));
        Assert.Empty(EventsOf("c1", Topics.Exit));
    }

    [Fact]
    public async Task A_failed_Exec_frees_its_exec_id_for_the_next_Exec()
    {
        await RunAsync("c1");
        Launcher["c1"].Inject(Methods.Exec, new ShimFault.Fail(TtrpcCode.Internal, "runc exec failed: no such file"));
        var e = await Assert.ThrowsAsync<TtrpcException>(() => Runtime.ExecAsync("c1", "e1", ProcessSpec));
        Assert.Equal(TtrpcCode.Internal, e.Code);
        await Assert.ThrowsAsync<NotFoundException>(() => Runtime.ExecStateAsync("c1", "e1"));

        Launcher["c1"].Clear(Methods.Exec);
        await Runtime.ExecAsync("c1", "e1", ProcessSpec);
        var pid = await Runtime.StartExecAsync("c1", "e1");
        var wait = Runtime.WaitExecAsync("c1", "e1");
        await Launcher["c1"].ExitAsync("c1", 4, "e1");
        Assert.Equal((pid, 4u), ((await wait.WaitAsync(Bound)).Pid, (await wait).ExitStatus));
        Assert.Equal(4u, (await Runtime.DeleteExecAsync("c1", "e1")).ExitStatus);
        Assert.Equal(2, CallsOf(Launcher["c1"], Methods.Exec));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Exec_and_init_exits_are_each_published_once_whichever_comes_first(bool execFirst)
    {
        Launcher.Configure = s => s.ForwardTwice = true;
        await RunAsync("c1");
        await Runtime.ExecAsync("c1", "e1", ProcessSpec);
        await Runtime.StartExecAsync("c1", "e1");
        var execWait = Runtime.WaitExecAsync("c1", "e1");
        var initWait = Runtime.WaitAsync("c1");

        if (execFirst)
        {
            await Launcher["c1"].ExitAsync("c1", 5, "e1");
            await execWait.WaitAsync(Bound);
            await Launcher["c1"].ExitAsync("c1", 1);
        }
        else
        {
            await Launcher["c1"].ExitAsync("c1", 1);
            await initWait.WaitAsync(Bound);
            await Launcher["c1"].ExitAsync("c1", 5, "e1");
        }
        Assert.Equal(5u, (await execWait.WaitAsync(Bound)).ExitStatus);
        Assert.Equal(1u, (await initWait.WaitAsync(Bound)).ExitStatus);
        await Runtime.DeleteExecAsync("c1", "e1");
        await Runtime.DeleteAsync("c1");

        await QuietAsync();
        Assert.Equal(5u, Assert.Single(EventsOf("c1", Topics.Exit, "e1")).ExitStatus);
        Assert.Equal(1u, Assert.Single(EventsOf("c1", Topics.Exit)).ExitStatus);
        Assert.Single(EventsOf("c1", Topics.Delete));
    }

    [Fact]
    public async Task CloseIO_sent_before_the_exec_starts_is_applied_after_the_start()
    {
        await RunAsync("c1");
        var shim = Launcher["c1"];
        await Runtime.ExecAsync("c1", "e1", ProcessSpec, new Stdio(Stdin: "/tmp/none-stdin"));
        var close = Runtime.CloseExecIOAsync("c1", "e1");
        await Task.Delay(200);
        Assert.False(close.IsCompleted);
        Assert.Equal(0, CallsOf(shim, Methods.CloseIO));

        shim.Inject(Methods.Start, new ShimFault.Delay(TimeSpan.FromMilliseconds(300)));
        var start = Runtime.StartExecAsync("c1", "e1");
        await EventuallyAsync(() => CallsOf(shim, Methods.Start) == 2, "the exec's Start to reach the shim"); // init + exec
        await Task.Delay(100);
        Assert.Equal(0, CallsOf(shim, Methods.CloseIO));

        await start.WaitAsync(Bound);
        await close.WaitAsync(Bound);
        Assert.Equal(1, CallsOf(shim, Methods.CloseIO));
    }

    [Fact]
    public async Task An_exec_id_is_free_again_as_soon_as_its_delete_returns()
    {
        await RunAsync("c1");
        for (var run = 1u; run <= 20; run++)
        {
            await Runtime.ExecAsync("c1", "e1", ProcessSpec);
            var pid = await Runtime.StartExecAsync("c1", "e1");
            await Launcher["c1"].ExitAsync("c1", run, "e1");
            Assert.Equal((pid, run), ((await Runtime.WaitExecAsync("c1", "e1").WaitAsync(Bound)).Pid, run));
            await Runtime.DeleteExecAsync("c1", "e1");
            // Straight after the delete: gone, not a message into a stopping actor.
            var e = await Assert.ThrowsAsync<NotFoundException>(() => Runtime.ExecStateAsync("c1", "e1").WaitAsync(Bound));
            Assert.Equal("process does not exist e1: not found", e.Message);
        }
        await QuietAsync();
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (uint)i), EventsOf("c1", Topics.Exit, "e1").Select(x => x.ExitStatus));
    }

    [Fact]
    public async Task A_second_exec_with_the_same_id_is_AlreadyExists()
    {
        await RunAsync("c1");
        await Runtime.ExecAsync("c1", "e1", ProcessSpec);
        var e = await Assert.ThrowsAsync<AlreadyExistsException>(() => Runtime.ExecAsync("c1", "e1", ProcessSpec));
        Assert.Equal("id e1: already exists", e.Message);
        Assert.Equal(1, CallsOf(Launcher["c1"], Methods.Exec));
        await Assert.ThrowsAsync<InvalidArgumentException>(() => Runtime.ExecAsync("c1", "../e2", ProcessSpec));
    }

    [Fact]
    public async Task Exec_queries_answer_while_the_init_process_has_a_lifecycle_call_in_flight()
    {
        await RunAsync("c1");
        await Runtime.ExecAsync("c1", "e1", ProcessSpec);
        await Runtime.StartExecAsync("c1", "e1");
        var shim = Launcher["c1"];
        // Pause stays in flight at the shim until the exec's queries have been answered.
        var release = new TaskCompletionSource();
        shim.Inject(Methods.Pause, new ShimFault.Gate(release.Task));

        var pause = Runtime.PauseAsync("c1");
        await EventuallyAsync(() => CallsOf(shim, Methods.Pause) == 1, "Pause to reach the shim");
        var state = await Runtime.ExecStateAsync("c1", "e1").WaitAsync(Bound);
        Assert.Equal(ProcessStatus.Running, state.Status);
        var wait = Runtime.WaitExecAsync("c1", "e1");
        await Launcher["c1"].ExitAsync("c1", 9, "e1");
        Assert.Equal(9u, (await wait.WaitAsync(Bound)).ExitStatus);
        Assert.False(pause.IsCompleted);
        release.SetResult();
        await pause.WaitAsync(Bound);
    }
}
