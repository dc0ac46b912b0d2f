using ActorRuntime.Hosting;
using ActorRuntime.Protocol.Ttrpc;
using Grpc.Core;

namespace ActorRuntime.Daemon.Services;

/// <summary>
/// The namespace a call acts in: its <c>containerd-namespace</c> header, checked the way containerd's
/// namespaces.NamespaceRequired checks it. Every namespaced service takes its namespace here and nowhere else.
/// </summary>
internal static class RequestNamespace
{
    /// <summary>The gRPC metadata key containerd's clients send the namespace in.</summary>
    public const string Header = "containerd-namespace";

    /// <summary>
    /// The validated name. No header (or an empty one) is FailedPrecondition "namespace is required"; a name that breaks the
    /// identifier rule ("..", "a/b", …) is InvalidArgument naming it, both in containerd's words.
    /// </summary>
    public static string Of(ServerCallContext context) => Of(context.RequestHeaders);

    /// <summary>As <see cref="Of(ServerCallContext)"/>, from the headers alone; the first value counts, as in containerd.</summary>
    public static string Of(Metadata headers)
    {
        var name = headers.FirstOrDefault(e => e.Key == Header && !e.IsBinary)?.Value;
        if (string.IsNullOrEmpty(name))
            throw new FailedPreconditionException("namespace is required: failed precondition");
        if (Identifiers.Check(name, "namespace") is { } invalid)
            throw new InvalidArgumentException($"namespace validation: {invalid.Message}");
        return name;
    }

    /// <summary>
    /// For the calls that name their namespace in the request (Namespaces): the header's namespace, which their events are
    /// published in as containerd does, or the runtime's own when there is no header.
    /// </summary>
    public static ContainerRuntime PublisherOf(ContainerRuntime runtime, ServerCallContext context) =>
        context.RequestHeaders.Any(e => e.Key == Header) ? View(runtime, context) : runtime;

    /// <summary>The runtime's view of the call's namespace (see <see cref="ContainerRuntime.InNamespace"/>).</summary>
    public static ContainerRuntime View(ContainerRuntime runtime, ServerCallContext context) => runtime.InNamespace(Of(context));

    /// <summary>
    /// The view of the call's namespace on the node that runs container <paramref name="id"/>: in cluster mode the owner's
    /// (Unavailable naming it when it cannot be reached), else, as for an id no node claims, this runtime's own.
    /// </summary>
    public static async Task<ContainerRuntime> OwnerOfAsync(ContainerRuntime runtime, ServerCallContext context, string id)
    {
        var view = View(runtime, context);
        return view.Cluster is { } cluster ? await cluster.OwnerViewAsync(view, id, context.CancellationToken) : view;
    }

    /// <summary>What a list spans: every node that is up in cluster mode, else this runtime.</summary>
    public static IReadOnlyList<ContainerRuntime> Views(ContainerRuntime runtime, ServerCallContext context) =>
        [.. NodeViews(runtime, context).Select(v => v.View)];

    /// <summary><see cref="Views"/> with each one's node (null off cluster mode).</summary>
    public static IReadOnlyList<(string? Node, ContainerRuntime View)> NodeViews(ContainerRuntime runtime, ServerCallContext context)
    {
        var view = View(runtime, context);
        return view.Cluster is { } cluster ? [.. cluster.Views(view).Select(v => ((string?)v.Node, v.View))] : [(null, view)];
    }
}
