using ActorRuntime.Events;
using ActorRuntime.Tasks;
using ActorRuntime.TestKit;
using Xunit.Abstractions;
using Methods = ActorRuntime.Protocol.Shim.TaskApi.Methods;

namespace ActorRuntime.Tests.Runtime;

// Lifecycle calls get a deadline no delay of the machine reaches: the specs hold calls in flight on purpose.
public sealed class ExecConcurrencySpec(ITestOutputHelper output) : RuntimeSpecBase(output, o => o.CallTimeout = TimeSpan.FromSeconds(30))
{
    private const string ProcessSpec = """{"args":["sh"],"cwd":"/"}""";
    private const int Execs = 50;

    [Fact]
    public async Task An_exec_runs_its_whole_lifecycle_while_the_init_process_has_a_Pause_in_flight()
    {
        await RunAsync("c1");
        var shim = Launcher["c1"];
        var release = new TaskCompletionSource();
        shim.Inject(Methods.Pause, new ShimFault.Gate(release.Task));
        var pause = Runtime.PauseAsync("c1");
        await EventuallyAsync(() => CallsOf(shim, Methods.Pause) == 1, "Pause to reach the shim");

        await Runtime.ExecAsync("c1", "e1", ProcessSpec).WaitAsync(Bound);
        var pid = await Runtime.StartExecAsync("c1", "e1").WaitAsync(Bound);
        await Runtime.ResizeExecPtyAsync("c1", "e1", 80, 24).WaitAsync(Bound);
        await Runtime.CloseExecIOAsync("c1", "e1").WaitAsync(Bound);
        var wait = Runtime.WaitExecAsync("c1", "e1");
        await Runtime.KillExecAsync("c1", "e1", 15).WaitAsync(Bound);
        await shim.ExitAsync("c1", 143, "e1");
        Assert.Equal((pid, 143u), ((await wait.WaitAsync(Bound)).Pid, (await wait).ExitStatus));
        Assert.Equal(143u, (await Runtime.DeleteExecAsync("c1", "e1").WaitAsync(Bound)).ExitStatus);
        Assert.False(pause.IsCompleted, "the init's Pause was still held at the shim");

        release.SetResult();
        await pause.WaitAsync(Bound);
        Assert.Equal(ProcessStatus.Paused, (await Runtime.StateAsync("c1")).Status);
        await QuietAsync();
        Assert.Equal(143u, Assert.Single(EventsOf("c1", Topics.Exit, "e1")).ExitStatus);
    }

    [Fact]
    public async Task An_exec_starts_while_the_init_process_has_a_Kill_in_flight()
    {
        await RunAsync("c1");
        var shim = Launcher["c1"];
        await Runtime.ExecAsync("c1", "e1", ProcessSpec);
        var release = new TaskCompletionSource();
        shim.Inject(Methods.Kill, new ShimFault.Gate(release.Task));
        var kill = Runtime.KillAsync("c1", 0);
        await EventuallyAsync(() => CallsOf(shim, Methods.Kill) == 1, "the init's Kill to reach the shim");

        var pid = await Runtime.StartExecAsync("c1", "e1").WaitAsync(Bound);
        Assert.Equal(pid, shim.PidOf("c1", "e1"));
        Assert.False(kill.IsCompleted, "the init's Kill was still held at the shim");
        release.SetResult();
        await kill.WaitAsync(Bound);
    }

    /// <summary>
    /// The shim holds every Exec until all fifty are in flight at once: a lock anywhere on the way (task actor, shim
    /// actor, connection) that let one through at a time would leave them waiting for each other. Starts go to the shim
    /// one at a time (<see cref="ExecStartTurns"/>: containerd 1.6's shim runs them one at a time anyway), and while one
    /// is held there another exec is still created.
    /// </summary>
    [Fact]
    public async Task Fifty_execs_are_created_side_by_side_started_in_turn_and_each_gets_its_own_exit()
    {
        await RunAsync("c1");
        var shim = Launcher["c1"];
        var ids = Enumerable.Range(0, Execs).Select(n => $"e{n}").ToList();
        var startsBefore = CallsOf(shim, Methods.Start);

        var allExecsIn = new TaskCompletionSource();
        shim.Inject(Methods.Exec, new ShimFault.Gate(allExecsIn.Task));
        var execs = ids.Select(id => Runtime.ExecAsync("c1", id, ProcessSpec)).ToList();
        await EventuallyAsync(() => CallsOf(shim, Methods.Exec) == Execs, "all Exec calls to be in flight at the shim");
        allExecsIn.SetResult();
        await Task.WhenAll(execs).WaitAsync(Bound);
        shim.Clear(Methods.Exec);

        var firstStartIn = new TaskCompletionSource();
        shim.Inject(Methods.Start, new ShimFault.Gate(firstStartIn.Task));
        var starts = ids.Select(id => Runtime.StartExecAsync("c1", id)).ToList();
        await EventuallyAsync(() => CallsOf(shim, Methods.Start) == startsBefore + 1, "one Start to be in flight at the shim");
        await Runtime.ExecAsync("c1", "other", ProcessSpec).WaitAsync(Bound);
        await Task.Delay(200); // given time to overtake, no second Start has reached the shim
        Assert.Equal(startsBefore + 1, CallsOf(shim, Methods.Start));
        shim.Clear(Methods.Start);
        firstStartIn.SetResult();
        var pids = await Task.WhenAll(starts).WaitAsync(Bound);
        Assert.Equal(Execs, pids.Distinct().Count());
        Assert.Equal(startsBefore + Execs, CallsOf(shim, Methods.Start));

        var waits = ids.Select(id => Runtime.WaitExecAsync("c1", id)).ToList();
        for (var n = 0; n < Execs; n++) await shim.ExitAsync("c1", (uint)n, ids[n]);
        var exits = await Task.WhenAll(waits).WaitAsync(Bound);
        var deletes = await Task.WhenAll(ids.Select(id => Runtime.DeleteExecAsync("c1", id))).WaitAsync(Bound);
        for (var n = 0; n < Execs; n++)
        {
            Assert.Equal((ids[n], pids[n], (uint)n), (exits[n].ExecId, exits[n].Pid, exits[n].ExitStatus));
            Assert.Equal((uint)n, deletes[n].ExitStatus);
        }

        await QuietAsync();
        for (var n = 0; n < Execs; n++)
            Assert.Equal((uint)n, Assert.Single(EventsOf("c1", Topics.Exit, ids[n])).ExitStatus);
        Assert.Equal(ProcessStatus.Running, (await Runtime.StateAsync("c1")).Status);
    }
}
