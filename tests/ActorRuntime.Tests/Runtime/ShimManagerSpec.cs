using ActorRuntime.Events;
using ActorRuntime.Hosting;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using ActorRuntime.TestKit;
using Akka.Actor;
using Xunit.Abstractions;
using Methods = ActorRuntime.Protocol.Shim.TaskApi.Methods;

namespace ActorRuntime.Tests.Runtime;

public sealed class ShimManagerSpec(ITestOutputHelper output) : RuntimeSpecBase(output)
{
    [Fact]
    public async Task Create_start_wait_delete_runs_a_container_and_tears_its_shim_and_bundle_down()
    {
        var pid = await RunAsync("c1");
        Assert.True(Directory.Exists(BundlePath("c1")));
        Assert.Equal(ProcessStatus.Running, (await Runtime.StateAsync("c1")).Status);

        var wait = Runtime.WaitAsync("c1");
        await Runtime.KillAsync("c1", 9);
        var exited = await wait.WaitAsync(Bound);
        Assert.Equal(137u, exited.ExitStatus);
        Assert.Equal(pid, exited.Pid);

        var deleted = await Runtime.DeleteAsync("c1");
        Assert.Equal(137u, deleted.ExitStatus);
        Assert.False(Directory.Exists(BundlePath("c1")));
        Assert.True(Launcher["c1"].IsDead);
        Assert.Empty(await Runtime.ListAsync());
        Assert.Equal(0, Launcher.DeleteCalls);

        await QuietAsync();
        Assert.Single(EventsOf("c1", Topics.Create));
        Assert.Single(EventsOf("c1", Topics.Start));
        var exit = Assert.Single(EventsOf("c1", Topics.Exit));
        var delete = Assert.Single(EventsOf("c1", Topics.Delete));
        Assert.Equal((pid, 137u), (exit.Pid, exit.ExitStatus));
        Assert.True(exit.Offset < delete.Offset);
        await Cleaned.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_second_create_with_the_same_id_is_AlreadyExists_and_leaves_the_first_alone()
    {
        var pid = await RunAsync("dup");
        var e = await Assert.ThrowsAsync<AlreadyExistsException>(() => Runtime.CreateAsync("dup", Spec, []));
        Assert.Equal("task dup: already exists", e.Message);
        Assert.Single(Launcher.Shims);
        Assert.Equal(pid, (await Runtime.StateAsync("dup")).Pid);
        Assert.True(Directory.Exists(BundlePath("dup")));
    }

    [Fact]
    public async Task Commands_for_unknown_ids_are_NotFound_naming_the_task()
    {
        await RunAsync("known");
        var calls = new Func<Task>[]
        {
            () => Runtime.StateAsync("nope"), () => Runtime.StartAsync("nope"), () => Runtime.KillAsync("nope", 9),
            () => Runtime.DeleteAsync("nope"), () => Runtime.WaitAsync("nope"), () => Runtime.ExecAsync("nope", "e1", Spec),
            () => Runtime.ExecStateAsync("nope", "e1"),
        };
        foreach (var call in calls)
        {
            var e = await Assert.ThrowsAsync<NotFoundException>(call);
            Assert.Equal(TtrpcCode.NotFound, e.Code);
            Assert.Equal("task nope: not found", e.Message);
        }
        Assert.Equal(["known"], await Runtime.ListAsync());
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("")]
    [InlineData("a2345678901234567890123456789012345678901234567890123456789012345678901234567")] // 77
    public async Task Invalid_ids_are_InvalidArgument_and_create_nothing(string id)
    {
        var e = await Assert.ThrowsAsync<InvalidArgumentException>(() => Runtime.CreateAsync(id, Spec, []));
        Assert.Contains("invalid argument", e.Message);
        Assert.Empty(Launcher.Shims);
        var nsDir = Path.Combine(Settings.StateDirectory, Settings.Namespace);
        Assert.True(!Directory.Exists(nsDir) || !Directory.EnumerateFileSystemEntries(nsDir).Any());
        Assert.False(Directory.Exists(Path.Combine(Settings.StateDirectory, "x")));
        Assert.Empty(await Runtime.ListAsync());
    }

    [Fact]
    public async Task List_shows_registered_tasks_in_order()
    {
        Assert.Empty(await Runtime.ListAsync());
        await Runtime.CreateAsync("b", Spec, []);
        await Runtime.CreateAsync("a", Spec, []);
        Assert.Equal(["a", "b"], await Runtime.ListAsync());
        await Runtime.DeleteAsync("a");
        Assert.Equal(["b"], await Runtime.ListAsync());
    }

    [Fact]
    public async Task A_dead_shim_is_cleaned_up_with_one_exit_then_one_delete_carrying_the_delete_status()
    {
        var pid = await RunAsync("c1");
        await Launcher["c1"].DieAsync();

        var cleaned = await ExpectCleanedAsync("c1");
        Assert.True(cleaned.Published);
        Assert.Equal(137u, cleaned.ExitStatus);
        await QuietAsync();
        var exit = Assert.Single(EventsOf("c1", Topics.Exit));
        var delete = Assert.Single(EventsOf("c1", Topics.Delete));
        Assert.Equal((pid, 137u), (exit.Pid, exit.ExitStatus));
        Assert.Equal((pid, 137u), (delete.Pid, delete.ExitStatus));
        Assert.True(exit.Offset < delete.Offset);
        Assert.Equal(1, Launcher.DeleteCalls);
        Assert.False(Directory.Exists(BundlePath("c1")));
        Assert.Empty(await Runtime.ListAsync());
        await Assert.ThrowsAsync<NotFoundException>(() => Runtime.StateAsync("c1"));
        await Cleaned.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task When_the_shim_delete_fails_the_dead_shims_exit_is_255()
    {
        await RunAsync("c1");
        Launcher.DeleteFailure = new UnavailableException("shim binary delete failed");
        await Launcher["c1"].DieAsync();

        var cleaned = await ExpectCleanedAsync("c1");
        Assert.Equal(255u, cleaned.ExitStatus);
        await QuietAsync();
        Assert.Equal(255u, Assert.Single(EventsOf("c1", Topics.Exit)).ExitStatus);
        Assert.Equal(255u, Assert.Single(EventsOf("c1", Topics.Delete)).ExitStatus);
        Assert.False(Directory.Exists(BundlePath("c1")));
    }

    [Fact]
    public async Task A_shim_that_goes_away_after_its_task_was_deleted_publishes_nothing_more()
    {
        // Shutdown does not end this shim: the runtime falls back to the shim delete, which kills it.
        Launcher.Configure = s => s.Inject(Methods.Shutdown, new ShimFault.Fail(TtrpcCode.Unknown, "shutdown refused"));
        await RunAsync("c1");
        await Runtime.KillAsync("c1", 15);
        await Runtime.DeleteAsync("c1");
        Assert.True(Launcher["c1"].IsDead);
        Assert.Equal(1, Launcher.DeleteCalls);

        await QuietAsync();
        await Cleaned.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
        Assert.Single(EventsOf("c1", Topics.Exit));
        Assert.Single(EventsOf("c1", Topics.Delete));
        Assert.False(Directory.Exists(BundlePath("c1")));
    }

    [Fact]
    public async Task Cleanup_after_the_exit_was_seen_keeps_the_real_exit_and_adds_one_delete()
    {
        var pid = await RunAsync("c1");
        await Launcher["c1"].ExitAsync("c1", 3);
        await WaitForEventAsync("c1", Topics.Exit);
        // Seen by our Wait too (the event may be the shim's forward, which does not touch the record).
        await EventuallyAsync(async () => (await Runtime.Actors.Processes.Ask<ProcessStoreProtocol.All>(
            new ProcessStoreProtocol.GetAll(), Bound)).Tasks.Any(t => t is { ContainerId: "c1", ExecId: "", HasExited: true }),
            "the record to hold the exit", Bound);
        await Launcher["c1"].DieAsync();

        await ExpectCleanedAsync("c1");
        await QuietAsync();
        var exit = Assert.Single(EventsOf("c1", Topics.Exit));
        Assert.Equal((pid, 3u), (exit.Pid, exit.ExitStatus));
        var delete = Assert.Single(EventsOf("c1", Topics.Delete));
        Assert.True(exit.Offset < delete.Offset);
        // The record's real exit is what the cleanup owes, so the delete says the same.
        Assert.Equal(3u, delete.ExitStatus);
    }

    [Fact]
    public async Task The_id_of_a_dead_shim_stays_taken_until_its_cleanup_is_done()
    {
        await RunAsync("c1");
        Launcher.DeleteDelay = TimeSpan.FromMilliseconds(700);
        await Launcher["c1"].DieAsync();
        await EventuallyAsync(async () => !(await Runtime.ListAsync()).Contains("c1"), "the dead shim to be noticed");

        // Creating the id again while the old bundle is being cleaned up must neither disturb that cleanup nor be disturbed by it.
        var e = await Assert.ThrowsAsync<AlreadyExistsException>(() => Runtime.CreateAsync("c1", Spec, []));
        Assert.Equal("task c1: already exists", e.Message);
        await ExpectCleanedAsync("c1");
        Launcher.DeleteDelay = TimeSpan.Zero;
        await CreateEventuallyAsync("c1");

        await QuietAsync();
        Assert.Equal(1, Launcher.DeleteCalls);
        Assert.True(Directory.Exists(BundlePath("c1")));
        Assert.Equal(ProcessStatus.Created, (await Runtime.StateAsync("c1")).Status);
        Assert.Single(EventsOf("c1", Topics.Exit));
        Assert.Single(EventsOf("c1", Topics.Delete));
        Assert.Equal(2, EventsOf("c1", Topics.Create).Count);
    }

    [Fact]
    public async Task A_shim_that_will_not_start_is_a_typed_error_and_leaves_nothing_behind()
    {
        Launcher.StartFailure = new UnavailableException("exec: containerd-shim-runc-v2: not found");
        var e = await Assert.ThrowsAsync<UnavailableException>(() => Runtime.CreateAsync("c1", Spec, []));
        Assert.Contains("containerd-shim-runc-v2", e.Message);
        await AssertNothingLeftAsync("c1");

        // The id is free again once the failed shim actor is gone.
        Launcher.StartFailure = null;
        await CreateEventuallyAsync("c1");
        Assert.Equal(["c1"], await Runtime.ListAsync());
    }

    [Fact]
    public async Task A_shim_that_starts_dead_is_a_typed_error_and_leaves_nothing_behind()
    {
        Launcher.StartDeadShims = true;
        await Assert.ThrowsAnyAsync<TtrpcException>(() => Runtime.CreateAsync("c1", Spec, []));
        await AssertNothingLeftAsync("c1");
        Assert.All(Launcher.Shims, s => Assert.True(s.IsDead));
        Assert.False(File.Exists(Launcher["c1"].SocketPath));
    }

    private async Task AssertNothingLeftAsync(string id)
    {
        Assert.False(Directory.Exists(BundlePath(id)));
        Assert.Empty(await Runtime.ListAsync());
        await QuietAsync();
        Assert.Empty(Events);
        await Cleaned.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
    }

    private Task CreateEventuallyAsync(string id)
    {
        AlreadyExistsException? last = null;
        return EventuallyAsync(async () =>
        {
            try
            {
                await Runtime.CreateAsync(id, Spec, []);
                return true;
            }
            catch (AlreadyExistsException e)
            {
                last = e;
                return false;
            }
        }, $"a create of {id} to succeed", seen: () => last?.Message ?? "");
    }

    [Fact]
    public async Task A_second_manager_reloads_a_live_shim_and_its_task_answers()
    {
        var pid = await RunAsync("c1");
        var connects = CallsOf(Launcher["c1"], Methods.Connect);
        await StopQuietlyAsync();

        var runtime = await StartRuntimeAsync();
        var loaded = await runtime.AwaitLoadedAsync().WaitAsync(Bound);
        Assert.Equal((1, 0), (loaded.Reloaded, loaded.CleanedUp));
        Assert.Equal(connects + 1, CallsOf(Launcher["c1"], Methods.Connect));
        var state = await runtime.StateAsync("c1");
        Assert.Equal((pid, ProcessStatus.Running), (state.Pid, state.Status));
        Assert.Equal(["c1"], await runtime.ListAsync());

        // The reloaded task observes the exit once, and deletes as usual.
        var wait = runtime.WaitAsync("c1");
        await Launcher["c1"].ExitAsync("c1", 4);
        Assert.Equal(4u, (await wait.WaitAsync(Bound)).ExitStatus);
        await runtime.DeleteAsync("c1");
        await QuietAsync();
        Assert.Single(EventsOf("c1", Topics.Exit));
        Assert.Single(EventsOf("c1", Topics.Delete));
        await Cleaned.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Theory]
    [InlineData(false, 137u)]
    [InlineData(true, 255u)]
    public async Task A_bundle_whose_shim_died_while_we_were_down_is_cleaned_up_at_reload(bool deleteFails, uint status)
    {
        await RunAsync("c1");
        await StopQuietlyAsync();
        await Launcher["c1"].DieAsync();
        if (deleteFails) Launcher.DeleteFailure = new UnavailableException("shim binary delete failed");

        var runtime = await StartRuntimeAsync();
        var loaded = await runtime.AwaitLoadedAsync().WaitAsync(Bound);
        Assert.Equal((0, 1), (loaded.Reloaded, loaded.CleanedUp));
        var cleaned = await ExpectCleanedAsync("c1");
        Assert.Equal(status, cleaned.ExitStatus);
        await QuietAsync();
        Assert.Equal(status, Assert.Single(EventsOf("c1", Topics.Exit)).ExitStatus);
        Assert.Equal(status, Assert.Single(EventsOf("c1", Topics.Delete)).ExitStatus);
        Assert.False(Directory.Exists(BundlePath("c1")));
        Assert.Empty(await runtime.ListAsync());
    }

    /// <summary>Stopping the runtime is not a shim death: nothing is cleaned up, nothing published.</summary>
    private async Task StopQuietlyAsync()
    {
        await StopRuntimeAsync();
        await Task.Delay(100);
        Assert.DoesNotContain(Events, e => e.Topic == Topics.Exit);
        await Cleaned.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }
}
