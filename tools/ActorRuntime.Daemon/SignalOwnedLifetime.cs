using Microsoft.Extensions.Hosting;

namespace ActorRuntime.Daemon;

/// <summary>
/// The lifetime of both of the daemon's hosts in place of the console one, which would stop each host on SIGTERM by
/// itself and in no order: Program handles the signals and stops the gRPC server first, then the runtime.
/// </summary>
internal sealed class SignalOwnedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
