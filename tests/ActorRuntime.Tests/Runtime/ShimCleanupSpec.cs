using ActorRuntime.Events;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.TestKit;
using Akka.Actor;
using Xunit.Abstractions;
using Methods = ActorRuntime.Protocol.Shim.TaskApi.Methods;

namespace ActorRuntime.Tests.Runtime;

/// <summary>One cleanup after a shim, whatever the occasion; what it publishes is what the task's record says is owed.</summary>
public sealed class ShimCleanupSpec(ITestOutputHelper output) : RuntimeSpecBase(output)
{
    [Theory]
    [InlineData("dead shim")]
    [InlineData("failed start")]
    [InlineData("failed shutdown")]
    public async Task A_dead_shim_a_failed_start_and_a_failed_shutdown_go_through_the_one_cleanup(string occasion)
    {
        switch (occasion)
        {
            case "dead shim":
                await RunAsync("c1");
                await Launcher["c1"].KillAsync();
                Assert.True((await ExpectCleanedAsync("c1")).Published);
                break;
            case "failed start":
                Launcher.StartDeadShims = true;
                await Assert.ThrowsAnyAsync<TtrpcException>(() => Runtime.CreateAsync("c1", Spec, []));
                break;
            default:
                Launcher.Configure = s => s.Inject(Methods.Shutdown, new ShimFault.Fail(TtrpcCode.Unknown, "shutdown refused"));
                await RunAsync("c1");
                await Runtime.KillAsync("c1", 9);
                await Runtime.WaitAsync("c1").WaitAsync(Bound);
                await Runtime.DeleteAsync("c1");
                break;
        }

        // Each killed shim left its socket file; the cleanup ran the shim binary's delete, removed that file and the bundle.
        Assert.Equal(1, Launcher.DeleteCalls);
        Assert.False(File.Exists(Launcher["c1"].SocketPath), "stale socket left behind");
        Assert.False(Directory.Exists(BundlePath("c1")));
        Assert.Empty(await Runtime.ListAsync());

        // Published: the dead shim's owed exit and delete; after a failed start nothing; after a failed shutdown only
        // what the Delete itself published.
        await QuietAsync();
        var expected = occasion == "failed start" ? 0 : 1;
        Assert.Equal(expected, EventsOf("c1", Topics.Exit).Count);
        Assert.Equal(expected, EventsOf("c1", Topics.Delete).Count);
        // Once: the manager does not clean up again after a shim actor that released its bundle.
        Assert.Equal(1, Launcher.DeleteCalls);
    }

    [Fact]
    public async Task A_dead_shim_whose_task_has_no_record_is_cleaned_up_without_an_exit()
    {
        await RunAsync("c1");
        // As when the runtime died before the Create's record was durable: listed, bundle there, but no record.
        Runtime.Actors.Processes.Tell(new ProcessStoreProtocol.Forget(Settings.Namespace, "c1"));
        Assert.Empty((await Runtime.Actors.Processes.Ask<ProcessStoreProtocol.All>(new ProcessStoreProtocol.GetAll(), Bound)).Tasks);

        await Launcher["c1"].KillAsync();

        var cleaned = await ExpectCleanedAsync("c1");
        Assert.False(cleaned.Published);
        Assert.Equal(1, Launcher.DeleteCalls);
        Assert.False(Directory.Exists(BundlePath("c1")));
        await QuietAsync();
        Assert.Empty(EventsOf("c1", Topics.Exit));
        Assert.Empty(EventsOf("c1", Topics.Delete));
    }

    [Fact]
    public async Task A_dead_shim_owes_each_started_exec_its_exit_and_the_init_its_exit_and_delete()
    {
        const string process = """{"args":["sh"],"cwd":"/"}""";
        await RunAsync("c1");
        foreach (var exec in new[] { "e1", "e2", "e3" }) await Runtime.ExecAsync("c1", exec, process);
        var e1 = await Runtime.StartExecAsync("c1", "e1");
        var e2 = await Runtime.StartExecAsync("c1", "e2");
        // e2 ends (its exit is in, with its real status); e1 still runs when the shim dies; e3 never started.
        var wait = Runtime.WaitExecAsync("c1", "e2");
        await Launcher["c1"].ExitAsync("c1", 7, "e2");
        await wait.WaitAsync(Bound);
        await WaitForEventAsync("c1", Topics.Exit, "e2");

        await Launcher["c1"].KillAsync();
        Assert.True((await ExpectCleanedAsync("c1")).Published);

        await QuietAsync();
        // Counted as received, not de-duplicated: one exit per exec run, the init's exit and delete, no exec delete.
        var running = Assert.Single(EventsOf("c1", Topics.Exit, "e1"));
        Assert.Equal((e1, DeadShimCleanup.UnknownExitStatus), (running.Pid, running.ExitStatus));
        var exited = Assert.Single(EventsOf("c1", Topics.Exit, "e2"));
        Assert.Equal((e2, 7u), (exited.Pid, exited.ExitStatus));
        Assert.Empty(EventsOf("c1", Topics.Exit, "e3"));
        Assert.Single(EventsOf("c1", Topics.Exit));
        Assert.Single(EventsOf("c1", Topics.Delete));
        Assert.DoesNotContain(EventsOf("c1", Topics.Delete, null), e => e.ExecId.Length > 0);
        // Exec exits before the init's.
        var order = Events.Where(e => e.ContainerId == "c1" && e.Topic == Topics.Exit).Select(e => e.ExecId).ToList();
        Assert.Equal("", order[^1]);
        Assert.Empty((await Runtime.Actors.Processes.Ask<ProcessStoreProtocol.All>(new ProcessStoreProtocol.GetAll(), Bound)).Tasks);
    }

    [Fact]
    public async Task Records_settled_after_a_restart_owe_each_started_exec_its_exit_and_the_init_its_exit_and_delete()
    {
        const string process = """{"args":["sh"],"cwd":"/"}""";
        await RunAsync("c1");
        await Runtime.ExecAsync("c1", "e1", process);
        var e1 = await Runtime.StartExecAsync("c1", "e1");
        await StopRuntimeAsync();
        // While the runtime is down the shim and the bundle go: only the records are left.
        await Launcher["c1"].KillAsync();
        Directory.Delete(BundlePath("c1"), recursive: true);

        await StartRuntimeAsync();
        await Runtime.AwaitLoadedAsync().WaitAsync(Bound);
        await WaitForEventAsync("c1", Topics.Delete);
        await QuietAsync();

        var exit = Assert.Single(EventsOf("c1", Topics.Exit, "e1"));
        Assert.Equal((e1, DeadShimCleanup.UnknownExitStatus), (exit.Pid, exit.ExitStatus));
        Assert.Single(EventsOf("c1", Topics.Exit));
        Assert.Single(EventsOf("c1", Topics.Delete));
        await EventuallyAsync(async () =>
            (await Runtime.Actors.Processes.Ask<ProcessStoreProtocol.All>(new ProcessStoreProtocol.GetAll(), Bound)).Tasks.Count == 0,
            "the settled records to be forgotten", Bound);
    }
}
