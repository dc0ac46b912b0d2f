using ActorRuntime.Native;
using ActorRuntime.TestKit;
using ActorRuntime.Testing;
using Xunit.Abstractions;
using Methods = ActorRuntime.Protocol.Shim.TaskApi.Methods;

namespace ActorRuntime.Tests.Runtime;

/// <summary>A shim actor stopped while its launch is still under way must not leak the connection and log reader it gets.</summary>
public sealed class StoppedMidLaunchSpec(ITestOutputHelper output)
    : RuntimeSpecBase(output, o => o.LoadTimeout = TimeSpan.FromSeconds(30))
{
    [Fact]
    public async Task A_shim_actor_stopped_mid_launch_releases_the_log_reader_it_gets_afterwards()
    {
        var connect = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Launcher.Configure = shim => shim.Inject(Methods.Connect, new ShimFault.Gate(connect.Task));
        // Never answered: the shim actor it went to is stopped mid-launch.
        _ = Runtime.CreateAsync("c1", Spec, []);
        await Eventually.EventuallyAsync(() => Launcher.Shims.Any(s => CallsOf(s, Methods.Connect) > 0), "the shim's Connect", Bound);
        var fifo = Path.Combine(BundlePath("c1"), "log");
        Assert.True(HasReader(fifo), "the launch holds no reader on the log FIFO");

        // The runtime stops while Connect hangs; then Connect answers, to nobody.
        await StopRuntimeAsync();
        connect.SetResult();

        // The launch's late connection and log reader are released: the FIFO has no reader left.
        await Eventually.EventuallyAsync(() => !HasReader(fifo), "the log FIFO's reader to be closed", Bound);
    }

    /// <summary>A FIFO opened O_WRONLY|O_NONBLOCK fails with ENXIO exactly when no process holds it open for reading.</summary>
    private static bool HasReader(string fifo)
    {
        var fd = Libc.Open(fifo, Libc.O_WRONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        if (fd >= 0)
        {
            Libc.Close(fd);
            return true;
        }
        var errno = Libc.LastError;
        Assert.Equal(Libc.ENXIO, errno);
        return false;
    }
}
