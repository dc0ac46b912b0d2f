using ActorRuntime.Hosting;
using ActorRuntime.Protocol.Api.Namespaces;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Store;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace ActorRuntime.Daemon.Services;

/// <summary>
/// containerd.services.namespaces.v1.Namespaces over the runtime's durable namespace store. Not namespaced itself (the
/// name is in each request, as with containerd); names are checked by the store with the identifier rule. Their events go
/// out in the caller's namespace (its header), as containerd publishes them.
/// </summary>
internal sealed class NamespacesService(ContainerRuntime runtime) : Namespaces.NamespacesBase
{
    public override async Task<GetNamespaceResponse> Get(GetNamespaceRequest request, ServerCallContext context) =>
        new() { Namespace = ToProto(await runtime.GetNamespaceAsync(request.Name, context.CancellationToken)) };

    /// <summary>Every namespace created; a filter is refused rather than ignored (nothing we know sends one).</summary>
    public override async Task<ListNamespacesResponse> List(ListNamespacesRequest request, ServerCallContext context)
    {
        if (request.Filter.Length > 0)
            throw new InvalidArgumentException($"namespace filters are not supported (got \"{request.Filter}\"): invalid argument");
        var response = new ListNamespacesResponse();
        response.Namespaces.AddRange((await runtime.ListNamespacesAsync(context.CancellationToken)).Select(ToProto));
        return response;
    }

    public override async Task<CreateNamespaceResponse> Create(CreateNamespaceRequest request, ServerCallContext context)
    {
        var ns = request.Namespace ?? throw new InvalidArgumentException("namespace must be set: invalid argument");
        return new() { Namespace = ToProto(await RequestNamespace.PublisherOf(runtime, context).CreateNamespaceAsync(ns.Name, ns.Labels, context.CancellationToken)) };
    }

    public override async Task<UpdateNamespaceResponse> Update(UpdateNamespaceRequest request, ServerCallContext context)
    {
        var ns = request.Namespace ?? throw new InvalidArgumentException("namespace must be set: invalid argument");
        var paths = request.UpdateMask?.Paths.ToList() ?? [];
        return new() { Namespace = ToProto(await RequestNamespace.PublisherOf(runtime, context).UpdateNamespaceAsync(ns.Name, ns.Labels, paths, context.CancellationToken)) };
    }

    public override async Task<Empty> Delete(DeleteNamespaceRequest request, ServerCallContext context)
    {
        await RequestNamespace.PublisherOf(runtime, context).DeleteNamespaceAsync(request.Name, context.CancellationToken);
        return new Empty();
    }

    private static Namespace ToProto(NamespaceRecord record)
    {
        var ns = new Namespace { Name = record.Name };
        ns.Labels.Add(record.Labels);
        return ns;
    }
}
