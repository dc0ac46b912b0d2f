using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.Shims;

/// <summary>
/// containerd's cleanupAfterDeadShim: run the shim binary's delete under the cleanup timeout; if the task is still
/// registered, publish /tasks/exit then /tasks/delete with the pid, status and time from the delete response, or 255
/// and now when delete failed; publish nothing if the task was already gone. Then the bundle goes.
/// <para>One refinement: the shim's delete always reports 137 (it kills what is left). When the init process had
/// already exited before the delete — it ended while nothing watched and its shim died too — its real status is lost,
/// and we say so with 255 rather than pretend it was killed.</para>
/// </summary>
internal static class DeadShimCleanup
{
    public const uint UnknownExitStatus = 255;

    public sealed record Outcome(string ContainerId, bool Published, uint Pid, uint ExitStatus, DateTimeOffset ExitedAt);

    public static async Task<Outcome> RunAsync(ShimContext context, string containerId, bool taskRegistered)
    {
        var settings = context.Settings;
        var bundle = Bundle.TryLoad(settings.StateDirectory, settings.Namespace, containerId);
        uint pid = 0, status = UnknownExitStatus;
        var exitedAt = DateTimeOffset.UtcNow;
        if (bundle is not null)
        {
            var initAlive = InitAlive(bundle);
            try
            {
                var response = await context.Launcher.DeleteAsync(bundle, settings.CleanupTimeout,
                    CancellationToken.None, context.ShimLogger).ConfigureAwait(false);
                // 4294967295 is Go's -1: init.pid could not be read.
                pid = response.Pid == uint.MaxValue ? 0 : response.Pid;
                status = initAlive == false ? UnknownExitStatus : response.ExitStatus;
                exitedAt = Protocol.GoTime.ToDateTimeOffset(response.ExitedAt) ?? exitedAt;
            }
            catch (Exception e)
            {
                context.ShimLogger.LogWarning("cleanup of dead shim {Id}: delete failed: {Error}", containerId, e.Message);
            }
        }

        if (taskRegistered) PublishExitAndDelete(context.EventBus, settings.Namespace, containerId, pid, status, exitedAt);
        var address = bundle?.ReadAddress();
        bundle?.Delete();
        RemoveStaleSocket(address);
        return new Outcome(containerId, taskRegistered, pid, status, exitedAt);
    }

    /// <summary>/tasks/exit then /tasks/delete for a task that ended without its shim to report it.</summary>
    public static void PublishExitAndDelete(IActorRef bus, string ns, string containerId, uint pid, uint status, DateTimeOffset at)
    {
        bus.Tell(new EventBusProtocol.Publish(TaskEvent.Exited(ns, containerId, "", pid, status, at)), ActorRefs.NoSender);
        bus.Tell(new EventBusProtocol.Publish(TaskEvent.Deleted(ns, containerId, pid, status, at)), ActorRefs.NoSender);
    }

    /// <summary>
    /// Whether the container's init (the pid the shim wrote to init.pid at Create) still runs: null when unknown.
    /// With its shim dead, an exited init has been reaped by PID 1, so a missing or zombie process means it ended.
    /// </summary>
    private static bool? InitAlive(Bundle bundle)
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(bundle.Path, "init.pid")).Trim();
            if (!int.TryParse(text, out var pid) || pid <= 0) return null;
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Field 3, after the parenthesised command name, is the state.
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z" && state != "X";
        }
        catch (FileNotFoundException)
        {
            return File.Exists(Path.Combine(bundle.Path, "init.pid")) ? false : null;
        }
        catch (DirectoryNotFoundException)
        {
            return false;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>A SIGKILLed shim leaves its socket file in /run/containerd/s; remove it when nothing listens there any more.</summary>
    private static void RemoveStaleSocket(string? address)
    {
        if (address is null) return;
        var path = Protocol.Ttrpc.UnixSocket.PathOf(address);
        if (!File.Exists(path)) return;
        try
        {
            using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix,
                System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
            probe.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        }
        catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionRefused)
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
        }
    }
}
