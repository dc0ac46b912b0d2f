using ActorRuntime.Hosting;
using ActorRuntime.Protocol.Ttrpc;
using Grpc.Core;

namespace ActorRuntime.Daemon.Services;

/// <summary>The namespace a call acts in: containerd's <c>containerd-namespace</c> header, which every namespaced call must carry.</summary>
internal static class CallNamespace
{
    public const string Header = "containerd-namespace";

    /// <summary>The runtime seen from the call's namespace; containerd's errors for a missing or malformed one.</summary>
    public static ContainerRuntime View(ContainerRuntime runtime, ServerCallContext context)
    {
        var ns = context.RequestHeaders.GetValue(Header);
        if (string.IsNullOrEmpty(ns)) throw new FailedPreconditionException("namespace is required: failed precondition");
        if (Identifiers.Check(ns, "namespace") is { } invalid)
            throw new InvalidArgumentException("namespace validation: " + invalid.Message);
        return runtime.InNamespace(ns);
    }
}
