using ActorRuntime.Hosting;
using ActorRuntime.Protocol.Api.Leases;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Store;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace ActorRuntime.Daemon.Services;

/// <summary>
/// containerd.services.leases.v1.Leases over the runtime's durable lease store, in the call's namespace. Leases are
/// recorded only: there is no content or snapshot to hold, so resources are UNIMPLEMENTED and nothing is collected.
/// </summary>
internal sealed class LeasesService(ContainerRuntime runtime) : Leases.LeasesBase
{
    public override async Task<CreateResponse> Create(CreateRequest request, ServerCallContext context) =>
        new() { Lease = ToProto(await RequestNamespace.View(runtime, context).CreateLeaseAsync(request.Id, request.Labels, context.CancellationToken)) };

    public override async Task<Empty> Delete(DeleteRequest request, ServerCallContext context)
    {
        await RequestNamespace.View(runtime, context).DeleteLeaseAsync(request.Id, context.CancellationToken);
        return new Empty();
    }

    public override async Task<ListResponse> List(ListRequest request, ServerCallContext context)
    {
        var view = RequestNamespace.View(runtime, context);
        Filters.None(request.Filters, "lease");
        var response = new ListResponse();
        response.Leases.AddRange((await view.ListLeasesAsync(context.CancellationToken)).Select(ToProto));
        return response;
    }

    public override Task<Empty> AddResource(AddResourceRequest request, ServerCallContext context) =>
        throw new UnimplementedException("lease resources are not kept (no content or snapshots): not implemented");

    public override Task<Empty> DeleteResource(DeleteResourceRequest request, ServerCallContext context) =>
        throw new UnimplementedException("lease resources are not kept (no content or snapshots): not implemented");

    public override Task<ListResourcesResponse> ListResources(ListResourcesRequest request, ServerCallContext context) =>
        throw new UnimplementedException("lease resources are not kept (no content or snapshots): not implemented");

    private static Lease ToProto(LeaseRecord record)
    {
        var lease = new Lease { Id = record.Id, CreatedAt = Timestamp.FromDateTimeOffset(record.CreatedAt) };
        lease.Labels.Add(record.Labels);
        return lease;
    }
}
