using ActorRuntime.Protocol.Ttrpc;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace ActorRuntime.Daemon.Services;

/// <summary>
/// The one place the runtime's errors become gRPC statuses: a typed runtime error keeps its containerd code and message
/// (clients map codes through containerd's errdefs); a timed-out ask is Unavailable; anything else is Unknown.
/// </summary>
internal sealed class GrpcErrors : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw ToRpc(e);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw ToRpc(e);
        }
    }

    public static RpcException ToRpc(Exception e) => e switch
    {
        TtrpcException t => new RpcException(new Status((StatusCode)(int)t.Code, t.Message)),
        Akka.Actor.AskTimeoutException => new RpcException(new Status(StatusCode.Unavailable, e.Message)),
        OperationCanceledException => new RpcException(new Status(StatusCode.Cancelled, e.Message)),
        _ => new RpcException(new Status(StatusCode.Unknown, e.Message)),
    };
}
