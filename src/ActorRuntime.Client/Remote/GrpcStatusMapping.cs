using ActorRuntime.Protocol.Ttrpc;
using Grpc.Core;

namespace ActorRuntime.Client.Remote;

/// <summary>
/// A gRPC status from containerd or actorruntimed as the typed error every client of ours throws (containerd's
/// errdefs.FromGRPC): the same code, the server's own message. The caller's own cancellation stays a cancellation.
/// </summary>
public static class GrpcStatusMapping
{
    public static Exception ToException(RpcException e, CancellationToken ct)
    {
        if (e.StatusCode == StatusCode.Cancelled && ct.IsCancellationRequested) return new OperationCanceledException(e.Status.Detail, e, ct);
        var message = e.Status.Detail;
        // The server was never reached (socket missing, refused): gRPC's detail is generic, the cause names the socket.
        if (e.StatusCode == StatusCode.Unavailable && e.Status.DebugException is { } cause)
            message = $"{message} ({cause.GetBaseException().Message})";
        return TtrpcException.FromStatus((TtrpcCode)(int)e.StatusCode, message);
    }
}
