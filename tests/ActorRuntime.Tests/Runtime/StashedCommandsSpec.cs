using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.TestKit;
using Xunit.Abstractions;
using Methods = ActorRuntime.Protocol.Shim.TaskApi.Methods;

namespace ActorRuntime.Tests.Runtime;

/// <summary>A command that waited for a shim actor to be ready is answered whatever happens next, never dropped.</summary>
public sealed class StashedCommandsSpec(ITestOutputHelper output) : RuntimeSpecBase(output)
{
    [Fact]
    public async Task A_Wait_sent_while_its_shim_reloads_is_answered_when_the_reload_fails()
    {
        await RunAsync("c1");
        await StopRuntimeAsync();
        var shim = Launcher["c1"];
        var connects = CallsOf(shim, Methods.Connect);
        shim.Inject(Methods.Connect, new ShimFault.Gate(new TaskCompletionSource().Task));

        var runtime = await StartRuntimeAsync();
        await EventuallyAsync(() => CallsOf(shim, Methods.Connect) > connects, "the reload's Connect");
        // Wait has no deadline: dropped, it would hang its caller for ever.
        var wait = runtime.WaitAsync("c1");
        // The manager answers in order, so once it has listed the tasks it has handed the Wait to the reloading shim actor.
        await runtime.ListAsync();
        await shim.DieAsync();

        var failure = await Assert.ThrowsAsync<UnavailableException>(() => wait.WaitAsync(Bound));
        Assert.Contains("could not be reloaded", failure.Message);
        var cleaned = await ExpectCleanedAsync("c1");
        Assert.True(cleaned.Published);
    }
}
