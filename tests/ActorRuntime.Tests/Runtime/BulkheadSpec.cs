using System.Diagnostics;
using ActorRuntime.Protocol.Ttrpc;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Runtime;

/// <summary>A wedged shim fails only its own container's calls, and does not hold up the runtime's shutdown.</summary>
/// <remarks>
/// A longer call deadline than the other runtime specs' 1 s: ten Creates at once on a loaded CI machine passed 1 s once,
/// and the fleet must be up before the wedge; the spec compares against the deadline, whatever it is.
/// </remarks>
public sealed class BulkheadSpec(ITestOutputHelper output) : RuntimeSpecBase(output, o => o.CallTimeout = TimeSpan.FromSeconds(3))
{
    private const int Containers = 10;
    private const string Wedged = "c0";

    private async Task RunFleetAsync()
    {
        await Task.WhenAll(Enumerable.Range(0, Containers).Select(i => RunAsync($"c{i}")));
        Launcher[Wedged].Wedge();
    }

    [Fact]
    public async Task A_wedged_shim_times_out_its_own_calls_while_the_other_nine_answer_before_its_deadline()
    {
        await RunFleetAsync();
        var sw = Stopwatch.StartNew();
        TimeSpan? wedgedFailedAt = null;
        var wedgedState = Runtime.StateAsync(Wedged);
        var wedgedKill = Runtime.KillAsync(Wedged, 9);
        var wedgedBoth = Task.WhenAll(wedgedState, wedgedKill)
            .ContinueWith(_ => wedgedFailedAt = sw.Elapsed, TaskScheduler.Default);

        var others = Enumerable.Range(1, Containers - 1).Select(async i =>
        {
            var state = await Runtime.StateAsync($"c{i}");
            Assert.Equal(ActorRuntime.Tasks.ProcessStatus.Running, state.Status);
            return (Id: $"c{i}", At: sw.Elapsed, WedgedDoneThen: wedgedBoth.IsCompleted);
        }).ToList();
        var answered = await Task.WhenAll(others).WaitAsync(Bound);

        // Its State answers "unknown" past the deadline, as containerd's getProcessState does; its Kill fails.
        Assert.Equal(ActorRuntime.Tasks.ProcessStatus.Unknown, (await wedgedState).Status);
        await Assert.ThrowsAsync<DeadlineExceededException>(() => wedgedKill);
        await wedgedBoth;
        Assert.NotNull(wedgedFailedAt);
        Assert.True(wedgedFailedAt >= Settings.CallTimeout * 0.9, $"wedged calls failed after {wedgedFailedAt}");
        foreach (var a in answered)
        {
            Assert.False(a.WedgedDoneThen, $"{a.Id} answered only after the wedged container's deadline");
            Assert.True(a.At < wedgedFailedAt, $"{a.Id} answered at {a.At}, wedged deadline fired at {wedgedFailedAt}");
        }

        // The other containers' lifecycle commands are unaffected too; the wedged one keeps failing fast per call.
        await Runtime.KillAsync("c1", 9);
        Assert.Equal(137u, (await Runtime.WaitAsync("c1").WaitAsync(Bound)).ExitStatus);
        await Assert.ThrowsAsync<DeadlineExceededException>(() => Runtime.PidsAsync(Wedged));
    }

    [Fact]
    public async Task The_actor_system_terminates_within_the_shutdown_timeout_with_a_wedged_shim_present()
    {
        await RunFleetAsync();
        var pending = Runtime.StateAsync(Wedged); // a call in flight against the wedged shim

        var slack = TimeSpan.FromSeconds(2);
        var sw = Stopwatch.StartNew();
        await Sys.Terminate().WaitAsync(Settings.ShutdownTimeout + slack + slack);
        sw.Stop();
        Assert.True(sw.Elapsed < Settings.ShutdownTimeout + slack,
            $"termination took {sw.Elapsed}, shutdown timeout {Settings.ShutdownTimeout}");
        await Assert.ThrowsAnyAsync<Exception>(() => pending.WaitAsync(Bound));
        // Shims are left running on termination (reloaded on restart), like containerd's.
        Assert.False(Launcher["c1"].IsDead);
    }
}
