using ActorRuntime.Protocol.Api.Health;
using Grpc.Core;
using static ActorRuntime.Protocol.Api.Health.HealthCheckResponse.Types;

namespace ActorRuntime.Daemon.Services;

/// <summary>
/// grpc.health.v1.Health. The socket is bound only once the runtime's reload is done, so whoever can ask is told
/// SERVING; dockerd asks with service "" after a reconnect before it subscribes again.
/// </summary>
internal sealed class HealthService(IntrospectionService introspection) : Health.HealthBase
{
    /// <summary>SERVING; a service we do not serve is NotFound, as the health protocol says for Check.</summary>
    public override Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context) =>
        StatusOf(request.Service) == ServingStatus.Serving
            ? Task.FromResult(new HealthCheckResponse { Status = ServingStatus.Serving })
            : throw new RpcException(new Status(StatusCode.NotFound, $"unknown service {request.Service}"));

    /// <summary>The status now, then nothing until the caller goes (it does not change while the socket is up).</summary>
    public override async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responseStream,
        ServerCallContext context)
    {
        await responseStream.WriteAsync(new HealthCheckResponse { Status = StatusOf(request.Service) });
        try
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The watcher left or the daemon is stopping.
        }
    }

    // The grpc health protocol: "" is the whole server; a named service is one of ours (its full gRPC name) or unknown.
    private ServingStatus StatusOf(string service) =>
        service.Length == 0 || introspection.ServesGrpc(service) ? ServingStatus.Serving : ServingStatus.ServiceUnknown;
}
