using ActorRuntime.Events;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Tasks;
using Akka.Actor;
using Xunit.Abstractions;
using Methods = ActorRuntime.Protocol.Shim.TaskApi.Methods;

namespace ActorRuntime.Tests.Runtime;

/// <summary>Every witness of an exit goes through <see cref="Exits"/>; what a subscriber receives is counted as delivered.</summary>
public sealed class ExitsSpec(ITestOutputHelper output) : RuntimeSpecBase(output)
{
    private const string ProcessSpec = """{"args":["sh"],"cwd":"/"}""";

    private async Task<long> DroppedByTheBusAsync()
    {
        var stats = await BusStatsAsync();
        return stats.DroppedDuplicates + stats.DroppedStale;
    }

    [Fact]
    public async Task An_exit_witnessed_three_times_enters_the_bus_once()
    {
        Launcher.Configure = s => s.ForwardTwice = true;
        var pid = await RunAsync("c1");
        var wait = Runtime.WaitAsync("c1");
        await EventuallyAsync(() => CallsOf(Launcher["c1"], Methods.Wait) == 1, "our Wait to reach the shim");
        await SettleAsync();
        var droppedBefore = await DroppedByTheBusAsync();

        // Witnesses: the shim's forward, its second copy, our Wait.
        await Launcher["c1"].ExitAsync("c1", 7);
        Assert.Equal(7u, (await wait.WaitAsync(Bound)).ExitStatus);
        await QuietAsync();

        var exit = Assert.Single(EventsOf("c1", Topics.Exit));
        Assert.Equal((pid, 7u), (exit.Pid, exit.ExitStatus));
        // The copies stopped at Exits: the bus, the last line, had nothing to drop.
        Assert.Equal(droppedBefore, await DroppedByTheBusAsync());
    }

    [Theory]
    [InlineData(true, 5u)]
    [InlineData(false, 255u)]
    public async Task A_record_whose_bundle_vanished_while_down_is_settled_with_its_recorded_exit_or_255(bool exitSeen, uint status)
    {
        var pid = await RunAsync("c1");
        if (exitSeen)
        {
            var wait = Runtime.WaitAsync("c1");
            await Launcher["c1"].ExitAsync("c1", 5);
            await wait.WaitAsync(Bound);
        }
        await StopRuntimeAsync();
        await Launcher["c1"].DieAsync();
        Bundle.Load(Settings.StateDirectory, Settings.Namespace, "c1").Delete();

        var runtime = await StartRuntimeAsync();
        var loaded = await runtime.AwaitLoadedAsync().WaitAsync(Bound);
        Assert.Equal((0, 1), (loaded.Reloaded, loaded.CleanedUp));
        await WaitForEventAsync("c1", Topics.Delete);
        await QuietAsync();

        var exit = Assert.Single(EventsOf("c1", Topics.Exit));
        var delete = Assert.Single(EventsOf("c1", Topics.Delete));
        Assert.Equal((pid, status), (exit.Pid, exit.ExitStatus));
        Assert.Equal((pid, status), (delete.Pid, delete.ExitStatus));
        Assert.True(exit.Offset < delete.Offset);
        Assert.Equal(0, Launcher.DeleteCalls);
    }

    [Fact]
    public async Task Re_attached_execs_report_an_exit_seen_by_the_shim_and_one_it_lost_once_each()
    {
        await RunAsync("c1");
        await Runtime.ExecAsync("c1", "quick", ProcessSpec);
        var quickPid = await Runtime.StartExecAsync("c1", "quick");
        await Runtime.ExecAsync("c1", "gone", ProcessSpec);
        var gonePid = await Runtime.StartExecAsync("c1", "gone");
        await StopRuntimeAsync();

        // While down (the shim's forwards find nobody): one exec exits, the other is killed and deleted at the shim.
        var shim = Launcher["c1"];
        await shim.ExitAsync("c1", 4, "quick");
        await using (var connection = await TtrpcClient.ConnectAsync(shim.Address))
        {
            var client = new ShimTaskClient(connection);
            await client.KillAsync(new KillRequest { Id = "c1", ExecId = "gone", Signal = 9 });
            await client.DeleteAsync(new DeleteRequest { Id = "c1", ExecId = "gone" });
        }

        var runtime = await StartRuntimeAsync();
        await runtime.AwaitLoadedAsync().WaitAsync(Bound);
        await WaitForEventAsync("c1", Topics.Exit, "quick");
        await WaitForEventAsync("c1", Topics.Exit, "gone");
        Assert.Equal(4u, (await runtime.WaitExecAsync("c1", "quick").WaitAsync(Bound)).ExitStatus);
        await Assert.ThrowsAsync<NotFoundException>(() => runtime.ExecStateAsync("c1", "gone"));
        await QuietAsync();

        var quick = Assert.Single(EventsOf("c1", Topics.Exit, "quick"));
        var gone = Assert.Single(EventsOf("c1", Topics.Exit, "gone"));
        Assert.Equal((quickPid, 4u), (quick.Pid, quick.ExitStatus));
        Assert.Equal((gonePid, DeadShimCleanup.UnknownExitStatus), (gone.Pid, gone.ExitStatus));
        Assert.Empty(EventsOf("c1", Topics.Exit));
    }
}
