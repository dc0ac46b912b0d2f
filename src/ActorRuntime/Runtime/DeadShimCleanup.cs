using Akka.Actor;
using ActorRuntime.Events;
using ActorRuntime.Shim;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.Runtime;

/// <summary>
/// containerd's cleanupAfterDeadShim: run the shim binary's delete under the cleanup timeout; if the task is still
/// registered, publish /tasks/exit then /tasks/delete with the pid, status and time from the delete response, or 255
/// and now when delete failed; publish nothing if the task was already gone. Then the bundle goes.
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
            try
            {
                var response = await context.Launcher.DeleteAsync(bundle, settings.CleanupTimeout,
                    CancellationToken.None, context.ShimLogger).ConfigureAwait(false);
                // 4294967295 is Go's -1: init.pid could not be read.
                pid = response.Pid == uint.MaxValue ? 0 : response.Pid;
                status = response.ExitStatus;
                exitedAt = Protocol.GoTime.ToDateTimeOffset(response.ExitedAt) ?? exitedAt;
            }
            catch (Exception e)
            {
                context.ShimLogger.LogWarning("cleanup of dead shim {Id}: delete failed: {Error}", containerId, e.Message);
            }
        }

        if (taskRegistered)
        {
            var ns = settings.Namespace;
            context.EventBus.Tell(new EventBusProtocol.Publish(TaskEvent.Exited(ns, containerId, "", pid, status, exitedAt)), ActorRefs.NoSender);
            context.EventBus.Tell(new EventBusProtocol.Publish(TaskEvent.Deleted(ns, containerId, pid, status, exitedAt)), ActorRefs.NoSender);
        }
        var address = bundle?.ReadAddress();
        bundle?.Delete();
        RemoveStaleSocket(address);
        return new Outcome(containerId, taskRegistered, pid, status, exitedAt);
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
