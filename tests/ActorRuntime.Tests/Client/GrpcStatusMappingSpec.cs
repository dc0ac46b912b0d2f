using ActorRuntime.Client.Remote;
using ActorRuntime.Protocol.Ttrpc;
using Grpc.Core;

namespace ActorRuntime.Tests.Client;

/// <summary>A gRPC status becomes the typed error every client throws: containerd's code, the server's own message.</summary>
public sealed class GrpcStatusMappingSpec
{
    public static TheoryData<StatusCode, Type> Typed => new()
    {
        { StatusCode.NotFound, typeof(NotFoundException) },
        { StatusCode.AlreadyExists, typeof(AlreadyExistsException) },
        { StatusCode.FailedPrecondition, typeof(FailedPreconditionException) },
        { StatusCode.InvalidArgument, typeof(InvalidArgumentException) },
        { StatusCode.Unimplemented, typeof(UnimplementedException) },
        { StatusCode.DeadlineExceeded, typeof(DeadlineExceededException) },
        { StatusCode.Unavailable, typeof(UnavailableException) },
    };

    [Theory]
    [MemberData(nameof(Typed))]
    public void Each_containerd_code_becomes_its_typed_error_with_the_servers_message(StatusCode code, Type expected)
    {
        var error = GrpcStatusMapping.ToException(new RpcException(new Status(code, "container \"c1\" in namespace \"n\": the words")), default);
        Assert.IsType(expected, error);
        var typed = (TtrpcException)error;
        Assert.Equal(((int)code, "container \"c1\" in namespace \"n\": the words"), ((int)typed.Code, typed.Message));
    }

    [Fact]
    public void A_code_without_a_type_of_its_own_keeps_its_number()
    {
        var error = Assert.IsType<TtrpcException>(GrpcStatusMapping.ToException(new RpcException(new Status(StatusCode.Unknown, "runc said no")), default));
        Assert.Equal((TtrpcCode.Unknown, "runc said no"), (error.Code, error.Message));
    }

    [Fact]
    public void A_server_never_reached_is_Unavailable_naming_why()
    {
        var status = new Status(StatusCode.Unavailable, "Error connecting to subchannel.",
            new System.Net.Http.HttpRequestException("outer", new System.Net.Sockets.SocketException(2)));
        var error = Assert.IsType<UnavailableException>(GrpcStatusMapping.ToException(new RpcException(status), default));
        Assert.StartsWith("Error connecting to subchannel. (", error.Message);
        Assert.Contains(new System.Net.Sockets.SocketException(2).Message, error.Message);
    }

    [Fact]
    public void The_callers_own_cancellation_stays_a_cancellation_and_a_servers_cancel_does_not()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var rpc = new RpcException(new Status(StatusCode.Cancelled, "Call canceled by the client."));
        Assert.IsType<OperationCanceledException>(GrpcStatusMapping.ToException(rpc, cancelled.Token));
        Assert.Equal(TtrpcCode.Canceled, Assert.IsType<TtrpcException>(GrpcStatusMapping.ToException(rpc, default)).Code);
    }
}
