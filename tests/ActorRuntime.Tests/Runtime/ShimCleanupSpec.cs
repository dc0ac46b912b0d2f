using ActorRuntime.Events;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
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
    public async Task A_live_shim_that_deleted_its_task_before_a_crash_is_shut_down_and_only_the_delete_follows_with_the_exit_s_status()
    {
        // As the real shim binary's delete, which would leave a shim that still serves running for ever.
        Launcher.DeleteLeavesLiveShims = true;
        var pid = await RunAsync("c1");
        await Launcher["c1"].ExitAsync("c1", 3);
        await Runtime.WaitAsync("c1").WaitAsync(Bound);
        await WaitForEventAsync("c1", Topics.Exit);
        await EventuallyAsync(async () => (await RecordsAsync()).Any(r => r is { ContainerId: "c1", ExitPublished: true }),
            "the record to say its exit is published", Bound);
        // The crash comes between the shim's Delete of the task and our teardown: the shim lives on without it.
        await StopRuntimeAsync();
        Launcher["c1"].ForgetTask("c1");
        await StartRuntimeAsync();
        await Runtime.AwaitLoadedAsync().WaitAsync(Bound);

        var cleaned = await ExpectCleanedAsync("c1");
        Assert.Equal((true, 3u), (cleaned.Published, cleaned.ExitStatus));
        Assert.True(Launcher["c1"].IsDead, "the shim that no longer knew its task still runs");
        Assert.False(File.Exists(Launcher["c1"].SocketPath), "its socket stays");
        Assert.False(Directory.Exists(BundlePath("c1")));
        Assert.DoesNotContain(await RecordsAsync(), r => r.ContainerId == "c1");
        await QuietAsync();
        // Counted as received: the exit once (before the crash), the owed delete once, with the exit's figures.
        var exit = Assert.Single(EventsOf("c1", Topics.Exit));
        var delete = Assert.Single(EventsOf("c1", Topics.Delete));
        Assert.Equal((pid, 3u), (exit.Pid, exit.ExitStatus));
        Assert.Equal((pid, 3u, exit.ExitedAt), (delete.Pid, delete.ExitStatus, delete.ExitedAt));
        Assert.Equal(1L, (await Runtime.ExitStatsAsync()).Entered);
    }

    [Fact]
    public async Task A_live_shim_started_for_a_Create_that_never_reached_it_before_a_crash_is_shut_down_without_a_word_on_the_bus()
    {
        Launcher.DeleteLeavesLiveShims = true;
        var never = new TaskCompletionSource();
        Launcher.Configure = s => s.Inject(Methods.Create, new ShimFault.Gate(never.Task));
        Manager.Tell(InDefault(new TaskProtocol.Create("c1", Spec, [], new Stdio("", "", "", false))), CreateTestProbe());
        await EventuallyAsync(() => Launcher.Shims.Count == 1 && CallsOf(Launcher["c1"], Methods.Create) == 1, "the Create to reach the shim", Bound);
        // The crash: the Create is lost with the runtime's connection, the shim stays without a task.
        await StopRuntimeAsync();
        Assert.Null(Launcher["c1"].StatusOf("c1"));
        await StartRuntimeAsync();
        await Runtime.AwaitLoadedAsync().WaitAsync(Bound);

        Assert.False((await ExpectCleanedAsync("c1")).Published);
        Assert.True(Launcher["c1"].IsDead, "the shim that never got its task still runs");
        Assert.False(File.Exists(Launcher["c1"].SocketPath), "its socket stays");
        Assert.False(Directory.Exists(BundlePath("c1")));
        await QuietAsync();
        Assert.DoesNotContain(Events, e => e.ContainerId == "c1");
        never.SetResult();
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
    public async Task An_exec_whose_start_the_bus_saw_but_whose_reply_died_with_the_shim_is_owed_its_exit()
    {
        const string process = """{"args":["sh"],"cwd":"/"}""";
        await RunAsync("c1");
        await Runtime.ExecAsync("c1", "started", process);
        await Runtime.ExecAsync("c1", "never", process);
        // The shim starts the exec and forwards its exec-started, then dies before its reply: our record never learns
        // the pid. The other exec was never started at all.
        Launcher["c1"].Inject(Methods.Start, new ShimFault.Hang());
        var starting = Runtime.StartExecAsync("c1", "started");
        await Bus.Ask<EventBusProtocol.Published>(new EventBusProtocol.Publish(
            new TaskEvent(Settings.Namespace, Topics.ExecStarted, "c1", "started", 4242, 0, null, DateTimeOffset.UtcNow), WantAck: true), Bound);
        await Launcher["c1"].KillAsync();
        await Assert.ThrowsAnyAsync<TtrpcException>(() => starting.WaitAsync(Bound));
        Assert.True((await ExpectCleanedAsync("c1")).Published);

        await QuietAsync();
        var exit = Assert.Single(EventsOf("c1", Topics.Exit, "started"));
        Assert.Equal((4242u, DeadShimCleanup.UnknownExitStatus), (exit.Pid, exit.ExitStatus));
        Assert.Empty(EventsOf("c1", Topics.Exit, "never"));
        Assert.Single(EventsOf("c1", Topics.Exit));
        Assert.Single(EventsOf("c1", Topics.Delete));
        Assert.Empty(await RecordsAsync());
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
