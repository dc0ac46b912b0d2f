namespace ActorRuntime.Protocol.Ttrpc;

/// <summary>
/// An error status from a ttrpc peer (or raised locally with the code a peer would use).
/// Subclasses give callers typed errors to catch; <see cref="FromStatus"/> maps codes the way containerd's errdefs.FromGRPC does.
/// </summary>
public class TtrpcException : Exception
{
    public TtrpcException(TtrpcCode code, string message, Exception? inner = null)
        : base(message, inner) => Code = code;

    public TtrpcCode Code { get; }

    public static TtrpcException FromStatus(TtrpcCode code, string message) => code switch
    {
        TtrpcCode.NotFound => new NotFoundException(message),
        TtrpcCode.AlreadyExists => new AlreadyExistsException(message),
        TtrpcCode.FailedPrecondition => new FailedPreconditionException(message),
        TtrpcCode.Unimplemented => new UnimplementedException(message),
        TtrpcCode.DeadlineExceeded => new DeadlineExceededException(message),
        TtrpcCode.Unavailable => new UnavailableException(message),
        TtrpcCode.InvalidArgument => new InvalidArgumentException(message),
        _ => new TtrpcException(code, message),
    };

    public Rpc.Status ToStatus() => new() { Code = (int)Code, Message = Message };
}

public sealed class NotFoundException(string message) : TtrpcException(TtrpcCode.NotFound, message);

public sealed class AlreadyExistsException(string message) : TtrpcException(TtrpcCode.AlreadyExists, message);

public sealed class FailedPreconditionException(string message) : TtrpcException(TtrpcCode.FailedPrecondition, message);

public sealed class UnimplementedException(string message) : TtrpcException(TtrpcCode.Unimplemented, message);

public sealed class DeadlineExceededException(string message) : TtrpcException(TtrpcCode.DeadlineExceeded, message);

public sealed class InvalidArgumentException(string message) : TtrpcException(TtrpcCode.InvalidArgument, message);

public class UnavailableException(string message, Exception? inner = null) : TtrpcException(TtrpcCode.Unavailable, message, inner);

/// <summary>The connection was closed (by us or the peer) while or before the call was in flight; Go's ttrpc.ErrClosed.</summary>
public sealed class TtrpcClosedException(string message = "ttrpc: closed", Exception? inner = null) : UnavailableException(message, inner);
