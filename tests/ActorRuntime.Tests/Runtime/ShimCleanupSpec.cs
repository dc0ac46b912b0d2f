using ActorRuntime.Events;
using ActorRuntime.Protocol.Ttrpc;
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
}
