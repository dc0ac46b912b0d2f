using System.Diagnostics;
using ActorRuntime.Events;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using ActorRuntime.TestKit;
using Xunit.Abstractions;
using Methods = ActorRuntime.Protocol.Shim.TaskApi.Methods;

namespace ActorRuntime.Tests.Runtime;

public sealed class TaskActorSpec(ITestOutputHelper output) : RuntimeSpecBase(output)
{
    [Fact]
    public async Task Lifecycle_commands_run_one_at_a_time_while_queries_answer_meanwhile()
    {
        await Runtime.CreateAsync("c1", Spec, []);
        var shim = Launcher["c1"];
        // Start stays in flight at the shim until released below (within the 1 s call timeout).
        var release = new TaskCompletionSource();
        shim.Inject(Methods.Start, new ShimFault.Gate(release.Task));

        var start = Runtime.StartAsync("c1");
        await EventuallyAsync(() => CallsOf(shim, Methods.Start) == 1, "Start to reach the shim");
        var kill = Runtime.KillAsync("c1", 9);

        // A query is not held up by the lifecycle call in flight.
        var state = await Runtime.StateAsync("c1");
        Assert.Equal(ProcessStatus.Created, state.Status);
        Assert.False(start.IsCompleted);

        // The Kill waits for the Start: given time to overtake it, it has not reached the shim while Start is in flight.
        await Task.Delay(200);
        Assert.False(start.IsCompleted);
        Assert.Equal(0, CallsOf(shim, Methods.Kill));

        release.SetResult();
        var pid = await start.WaitAsync(Bound); // would fail "cannot start a stopped process" had Kill overtaken it
        await kill.WaitAsync(Bound);
        Assert.Equal(1, CallsOf(shim, Methods.Kill));
        var exited = await Runtime.WaitAsync("c1").WaitAsync(Bound);
        Assert.Equal((pid, 137u), (exited.Pid, exited.ExitStatus));
    }

    [Theory]
    [InlineData(TtrpcCode.NotFound, typeof(NotFoundException))]
    [InlineData(TtrpcCode.FailedPrecondition, typeof(FailedPreconditionException))]
    [InlineData(TtrpcCode.Unknown, typeof(TtrpcException))]
    public async Task A_failed_shim_call_reaches_the_caller_as_the_typed_error_with_its_message(TtrpcCode code, Type expected)
    {
        await RunAsync("c1");
        Launcher["c1"].Inject(Methods.Pause, new ShimFault.Fail(code, "runc pause failed: cgroup frozen"));

        var e = await Assert.ThrowsAnyAsync<TtrpcException>(() => Runtime.PauseAsync("c1"));
        Assert.IsType(expected, e);
        Assert.Equal(code, e.Code);
        Assert.Equal("runc pause failed: cgroup frozen", e.Message);

        // The actor keeps serving lifecycle commands after the failure.
        Launcher["c1"].Clear(Methods.Pause);
        await Runtime.PauseAsync("c1");
        Assert.Equal(ProcessStatus.Paused, (await Runtime.StateAsync("c1")).Status);
    }

    [Fact]
    public async Task State_in_flight_when_the_connection_closes_answers_NotFound_as_containerd_does()
    {
        await RunAsync("c1");
        var shim = Launcher["c1"];
        shim.Inject(Methods.State, new ShimFault.Hang());
        var state = Runtime.StateAsync("c1");
        await EventuallyAsync(() => CallsOf(shim, Methods.State) == 1, "State to reach the shim");

        await shim.DropConnectionsAsync();
        var e = await Assert.ThrowsAsync<NotFoundException>(() => state.WaitAsync(Bound));
        Assert.EndsWith("not found", e.Message);
    }

    [Fact]
    public async Task A_hung_call_is_DeadlineExceeded_after_the_call_timeout_and_the_actor_keeps_serving()
    {
        var pid = await RunAsync("c1");
        var shim = Launcher["c1"];
        shim.Inject(Methods.State, new ShimFault.Hang());
        shim.Inject(Methods.Kill, new ShimFault.Hang());

        var sw = Stopwatch.StartNew();
        var state = Runtime.StateAsync("c1");
        var kill = Runtime.KillAsync("c1", 15);
        // A query past its deadline answers "unknown" with what we know, as containerd's getProcessState does.
        var unknown = await state.WaitAsync(Bound);
        Assert.Equal((ProcessStatus.Unknown, pid), (unknown.Status, unknown.Pid));
        await Assert.ThrowsAsync<DeadlineExceededException>(() => kill);
        Assert.InRange(sw.Elapsed, Settings.CallTimeout * 0.9, Settings.CallTimeout * 3);

        shim.Clear(Methods.State);
        shim.Clear(Methods.Kill);
        Assert.Equal(ProcessStatus.Running, (await Runtime.StateAsync("c1")).Status);
        await Runtime.KillAsync("c1", 15);
        Assert.Equal(143u, (await Runtime.WaitAsync("c1").WaitAsync(Bound)).ExitStatus);
    }

    [Fact]
    public async Task An_exited_exec_is_answered_from_its_record_while_the_shims_State_is_slow()
    {
        await RunAsync("c1");
        var shim = Launcher["c1"];
        await Runtime.ExecAsync("c1", "e1", """{"args":["true"]}""");
        var pid = await Runtime.StartExecAsync("c1", "e1");
        await shim.ExitAsync("c1", 3, "e1");
        await Runtime.WaitExecAsync("c1", "e1").WaitAsync(Bound);
        shim.Inject(Methods.State, new ShimFault.Hang());
        var before = CallsOf(shim, Methods.State);

        // ctr deletes an exec (and removes its FIFOs) only when Get says it is not running.
        var state = await Runtime.ExecStateAsync("c1", "e1").WaitAsync(Bound);
        Assert.Equal((ProcessStatus.Stopped, 3u, pid), (state.Status, state.ExitStatus, state.Pid));
        Assert.Equal(before, CallsOf(shim, Methods.State));
        await Runtime.DeleteExecAsync("c1", "e1").WaitAsync(Bound);
    }

    [Fact]
    public async Task Events_forwarded_twice_still_give_one_exit_and_one_delete()
    {
        Launcher.Configure = s => s.ForwardTwice = true;
        var pid = await RunAsync("c1");
        await Runtime.KillAsync("c1", 9);
        await Runtime.WaitAsync("c1").WaitAsync(Bound);
        await Runtime.DeleteAsync("c1");

        await QuietAsync();
        Assert.Single(EventsOf("c1", Topics.Create));
        Assert.Single(EventsOf("c1", Topics.Start));
        var exit = Assert.Single(EventsOf("c1", Topics.Exit));
        var delete = Assert.Single(EventsOf("c1", Topics.Delete));
        Assert.Equal((pid, 137u), (exit.Pid, exit.ExitStatus));
        Assert.True(exit.Offset < delete.Offset);
    }

    [Fact]
    public async Task Every_waiter_gets_the_exit_and_later_waiters_get_it_at_once()
    {
        var pid = await RunAsync("c1");
        var waits = Enumerable.Range(0, 4).Select(_ => Runtime.WaitAsync("c1")).ToList();
        await Task.Delay(100);
        Assert.All(waits, w => Assert.False(w.IsCompleted));

        await Launcher["c1"].ExitAsync("c1", 7);
        foreach (var wait in waits)
        {
            var exited = await wait.WaitAsync(Bound);
            Assert.Equal((pid, 7u), (exited.Pid, exited.ExitStatus));
        }
        Assert.Equal(7u, (await Runtime.WaitAsync("c1").WaitAsync(Bound)).ExitStatus);
        Assert.Equal(1, CallsOf(Launcher["c1"], Methods.Wait)); // one shim Wait per run, however many callers
        await QuietAsync();
        Assert.Single(EventsOf("c1", Topics.Exit));
    }

    [Fact]
    public async Task A_dropped_connection_stops_the_shim_actor_and_cleanup_publishes_one_exit()
    {
        var pid = await RunAsync("c1");
        var shim = Launcher["c1"];
        var wait = Runtime.WaitAsync("c1");
        // The drop comes only once the task actor holds the waiter (a query sent after the Wait, on the same path, has been
        // answered by it) and the task's own Wait, issued at Start, is in flight at the shim.
        await Runtime.StateAsync("c1");
        await EventuallyAsync(() => CallsOf(shim, Methods.Wait) == 1, "the task's Wait to reach the shim");
        Assert.False(wait.IsCompleted);
        await shim.DropConnectionsAsync();

        var cleaned = await ExpectCleanedAsync("c1");
        Assert.Equal(137u, cleaned.ExitStatus);
        await Assert.ThrowsAnyAsync<UnavailableException>(() => wait.WaitAsync(Bound));
        await QuietAsync();
        var exit = Assert.Single(EventsOf("c1", Topics.Exit));
        Assert.Equal((pid, 137u), (exit.Pid, exit.ExitStatus));
        Assert.Single(EventsOf("c1", Topics.Delete));
        Assert.True(shim.IsDead);
        Assert.False(Directory.Exists(BundlePath("c1")));
        await Assert.ThrowsAsync<NotFoundException>(() => Runtime.StateAsync("c1"));
    }
}
