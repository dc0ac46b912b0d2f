using ActorRuntime.Protocol.Ttrpc;

namespace ActorRuntime.TestKit;

/// <summary>What a fake shim does to a chosen Task method before (or instead of) answering.</summary>
public abstract record ShimFault
{
    /// <summary>Answer after a delay.</summary>
    public sealed record Delay(TimeSpan By) : ShimFault;

    /// <summary>Answer with this error status.</summary>
    public sealed record Fail(TtrpcCode Code, string Message) : ShimFault;

    /// <summary>Answer once <paramref name="Open"/> completes (or the connection goes): orders one shim after another.</summary>
    public sealed record Gate(Task Open) : ShimFault;

    /// <summary>Never answer (until the connection goes): a wedged shim, as under SIGSTOP.</summary>
    public sealed record Hang : ShimFault;

    /// <summary>
    /// The shim closes the connection in the middle of the call: it has read the request and never replies. Before the
    /// call has any effect, or with <paramref name="AfterEffect"/> once it has (the task created, started, deleted; its
    /// events forwarded), as a shim whose connection breaks just before its reply.
    /// </summary>
    public sealed record Drop(bool AfterEffect = false) : ShimFault;
}
