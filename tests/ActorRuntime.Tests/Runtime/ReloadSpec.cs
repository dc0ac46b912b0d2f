using System.Diagnostics;
using ActorRuntime.Events;
using ActorRuntime.Hosting;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using ActorRuntime.TestKit;
using Akka.Actor;
using Xunit.Abstractions;
using Methods = ActorRuntime.Protocol.Shim.TaskApi.Methods;

namespace ActorRuntime.Tests.Runtime;

/// <summary>
/// Reload after a restart is parallel and bounded per shim (field notes §2.3: one wedged shim must not delay loading
/// the others; containerd #3355, #12142, #13848). A second ShimManager starts over a state dir with live fake shims.
/// </summary>
public sealed class ReloadSpec(ITestOutputHelper output) : RuntimeSpecBase(output, o =>
{
    o.LoadTimeout = TimeSpan.FromSeconds(3);
    o.CleanupTimeout = TimeSpan.FromSeconds(2);
})
{
    private const int Healthy = 9;
    private const string WedgedId = "wedged";

    /// <summary>Timers may fire a tick early; the lower bounds allow for that, nothing else.</summary>
    private static readonly TimeSpan TimerTolerance = TimeSpan.FromMilliseconds(50);

    [Fact]
    public async Task One_wedged_shim_does_not_delay_the_others_and_is_cleaned_up_after_its_load_timeout()
    {
        var healthy = Enumerable.Range(0, Healthy).Select(i => $"healthy-{i}").ToList();
        var pids = new Dictionary<string, uint>();
        foreach (var id in healthy.Append(WedgedId)) pids[id] = await RunAsync(id);
        await StopQuietlyAsync();

        // The wedged shim answers nothing any more (as under SIGSTOP). Each healthy shim holds its Connect until the
        // wedged one has received its own: so the healthy reloads cannot complete unless the wedged one is being loaded
        // at the same time, whatever order the bundles are listed in. Serial loading fails either way: wedged first,
        // the healthy ones wait out its load timeout; wedged last, the healthy ones wait on the gate until theirs.
        var wedged = Launcher[WedgedId];
        var wedgedConnects = CallsOf(wedged, Methods.Connect);
        wedged.Wedge();
        var clock = Stopwatch.StartNew();
        var wedgedConnectSeen = Task.Run(async () =>
        {
            await EventuallyAsync(() => CallsOf(wedged, Methods.Connect) != wedgedConnects, "the wedged shim's Connect", Bound);
            return clock.Elapsed;
        });
        foreach (var id in healthy) Launcher[id].Inject(Methods.Connect, new ShimFault.Gate(wedgedConnectSeen));

        var cleanedAt = new TaskCompletionSource<(ShimManagerProtocol.DeadShimCleaned Cleaned, TimeSpan At)>(
            TaskCreationOptions.RunContinuationsAsynchronously);
        var watcher = Sys.ActorOf(Props.Create(() => new CleanupClock(clock, cleanedAt)));
        Sys.EventStream.Subscribe(watcher, typeof(ShimManagerProtocol.DeadShimCleaned));

        clock.Restart();
        var runtime = await StartRuntimeAsync();
        var loadedTask = runtime.AwaitLoadedAsync().ContinueWith(t => (Loaded: t.Result, At: clock.Elapsed), TaskScheduler.Default);

        // Every healthy task answers State as soon as its shim is reloaded (commands wait for the reload, not for AwaitLoaded).
        var answers = await Task.WhenAll(healthy.Select(async id =>
        {
            var state = await runtime.StateAsync(id);
            return (Id: id, State: state, At: clock.Elapsed);
        })).WaitAsync(Bound);
        var lastAnswer = answers.Max(a => a.At);
        // Snapshot right after the last answer: the wedged shim's load timeout has not fired yet, nothing was cleaned up.
        var cleanupStartedByThen = Launcher.DeleteCalls;
        var wedgedDeadByThen = wedged.IsDead;
        var cleanedByThen = cleanedAt.Task.IsCompleted;
        var loadedByThen = loadedTask.IsCompleted;

        var (loaded, loadedAt) = await loadedTask.WaitAsync(Bound);
        var (cleaned, cleanedAtTime) = await cleanedAt.Task.WaitAsync(Bound);
        var wedgedConnectAt = await wedgedConnectSeen;
        Output.WriteLine($"wedged Connect at {Ms(wedgedConnectAt)}; healthy answered {Ms(answers.Min(a => a.At))}..{Ms(lastAnswer)}; " +
                         $"loaded at {Ms(loadedAt)} {loaded}; wedged cleaned up at {Ms(cleanedAtTime)} (status {cleaned.ExitStatus}); " +
                         $"load timeout {Ms(Settings.LoadTimeout)}, cleanup timeout {Ms(Settings.CleanupTimeout)}");

        foreach (var (id, state, _) in answers)
            Assert.True(state.Pid == pids[id] && state.Status == ProcessStatus.Running, $"{id}: {state}");
        // Ordering: all nine answered while the wedged shim was still inside its load (its Connect received and hanging).
        Assert.True(wedgedConnectAt <= answers.Min(a => a.At), "the wedged shim's Connect came after a healthy answer");
        Assert.True(cleanupStartedByThen == 0 && !wedgedDeadByThen && !cleanedByThen && !loadedByThen,
            $"after the last healthy answer: deletes={cleanupStartedByThen} wedgedDead={wedgedDeadByThen} " +
            $"cleaned={cleanedByThen} loaded={loadedByThen}");
        Assert.True(lastAnswer < cleanedAtTime && lastAnswer < loadedAt);

        // The wedged one: cleaned up only after its load timeout, with the fake shim delete's status, published once.
        Assert.Equal(WedgedId, cleaned.ContainerId);
        Assert.True(cleaned.Published);
        Assert.Equal(137u, cleaned.ExitStatus);
        Assert.True(cleanedAtTime >= Settings.LoadTimeout - TimerTolerance, $"cleaned up at {Ms(cleanedAtTime)}, before the load timeout");
        Assert.Equal(wedgedConnects + 1, CallsOf(wedged, Methods.Connect));
        Assert.Equal(0, CallsOf(wedged, Methods.State));
        Assert.True(wedged.IsDead);
        Assert.Equal(1, Launcher.DeleteCalls);

        // AwaitLoaded: 9 reloaded, 1 cleaned up, within load timeout + cleanup timeout + slack.
        Assert.Equal((Healthy, 1), (loaded.Reloaded, loaded.CleanedUp));
        var slack = TimeSpan.FromSeconds(2);
        Assert.True(loadedAt <= Settings.LoadTimeout + Settings.CleanupTimeout + slack,
            $"loaded at {Ms(loadedAt)}, bound {Ms(Settings.LoadTimeout + Settings.CleanupTimeout + slack)}");
        Assert.True(loadedAt >= Settings.LoadTimeout - TimerTolerance, $"loaded at {Ms(loadedAt)} before the wedged shim's load timeout");

        await QuietAsync();
        var exit = Assert.Single(EventsOf(WedgedId, Topics.Exit));
        var delete = Assert.Single(EventsOf(WedgedId, Topics.Delete));
        Assert.Equal((pids[WedgedId], 137u), (exit.Pid, exit.ExitStatus));
        Assert.Equal((pids[WedgedId], 137u), (delete.Pid, delete.ExitStatus));
        Assert.True(exit.Offset < delete.Offset);
        Assert.All(healthy, id => Assert.Empty(EventsOf(id, Topics.Exit)));
        Assert.False(Directory.Exists(BundlePath(WedgedId)));
        Assert.Equal(healthy.Order(StringComparer.Ordinal), await runtime.ListAsync());

        // The reloaded ones are fully usable: one exits, is waited for and deleted as usual.
        var wait = runtime.WaitAsync(healthy[0]);
        await Launcher[healthy[0]].ExitAsync(healthy[0], 7);
        Assert.Equal(7u, (await wait.WaitAsync(Bound)).ExitStatus);
        await runtime.DeleteAsync(healthy[0]);
        await QuietAsync();
        Assert.Single(EventsOf(healthy[0], Topics.Exit));
        Assert.Single(EventsOf(WedgedId, Topics.Exit));
        await Cleaned.ExpectMsgAsync<ShimManagerProtocol.DeadShimCleaned>(m => m.ContainerId == WedgedId, Bound);
        await Cleaned.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
    }

    private static string Ms(TimeSpan t) => $"{t.TotalMilliseconds:F0} ms";

    /// <summary>Stopping the runtime is not a shim death: nothing is cleaned up, nothing published.</summary>
    private async Task StopQuietlyAsync()
    {
        await StopRuntimeAsync();
        await Task.Delay(100);
        Assert.DoesNotContain(Events, e => e.Topic == Topics.Exit);
        await Cleaned.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    /// <summary>Stamps the first DeadShimCleaned with the test's clock, as it arrives.</summary>
    private sealed class CleanupClock : ReceiveActor
    {
        public CleanupClock(Stopwatch clock,
            TaskCompletionSource<(ShimManagerProtocol.DeadShimCleaned, TimeSpan)> first) =>
            Receive<ShimManagerProtocol.DeadShimCleaned>(c => first.TrySetResult((c, clock.Elapsed)));
    }
}
