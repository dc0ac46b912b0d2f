using ActorRuntime.Cluster;
using ActorRuntime.Containers;
using ActorRuntime.Hosting;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Api.Containers;
using ActorRuntime.Protocol.Ttrpc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace ActorRuntime.Daemon.Services;

/// <summary>
/// containerd.services.containers.v1.Containers over the runtime's durable container store, in the call's namespace.
/// Labels, spec and runtime come back exactly as created: the runtime options' Any is stored as its encoded bytes.
/// In cluster mode a container is created on the node its placement label picks (this one by default), found by id on
/// whichever node runs it, and listed from every node that is up.
/// </summary>
internal sealed class ContainersService(ContainerRuntime runtime) : ActorRuntime.Protocol.Api.Containers.Containers.ContainersBase
{
    public override async Task<GetContainerResponse> Get(GetContainerRequest request, ServerCallContext context) =>
        new()
        {
            Container = ToProto(await (await RequestNamespace.OwnerOfAsync(runtime, context, request.Id))
                .GetContainerAsync(request.Id, context.CancellationToken)),
        };

    public override async Task<ListContainersResponse> List(ListContainersRequest request, ServerCallContext context)
    {
        var response = new ListContainersResponse();
        response.Containers.AddRange((await Listed(request, context)).Select(ToProto));
        return response;
    }

    public override async Task ListStream(ListContainersRequest request, IServerStreamWriter<ListContainerMessage> responseStream,
        ServerCallContext context)
    {
        foreach (var container in await Listed(request, context))
            await responseStream.WriteAsync(new ListContainerMessage { Container = ToProto(container) }, context.CancellationToken);
    }

    public override async Task<CreateContainerResponse> Create(CreateContainerRequest request, ServerCallContext context)
    {
        var view = RequestNamespace.View(runtime, context);
        var c = request.Container ?? throw new InvalidArgumentException("container must be set: invalid argument");
        var spec = OciJson.Of(c.Spec, TypeUrls.OciSpec, "container.Spec");
        if (string.IsNullOrEmpty(c.Runtime?.Name))
            throw new InvalidArgumentException("container.Runtime.Name must be set: invalid argument");
        if (c.Snapshotter.Length > 0 || c.SnapshotKey.Length > 0)
            throw new InvalidArgumentException("container snapshots are not supported (no snapshotter): pass the rootfs in the spec: invalid argument");
        Task<ContainerRecord> Create(ContainerRuntime on) => on.CreateContainerAsync(c.Id, spec, c.Labels, c.Runtime.Name,
            c.Runtime.Options?.ToByteArray(), c.Image, context.CancellationToken);
        if (view.Cluster is not { } cluster) return new() { Container = ToProto(await Create(view)) };
        return new() { Container = ToProto(await cluster.PlaceAndCreateAsync(PlacementOf(c.Labels, cluster.Self), view, c.Id,
            (_, on) => Create(on), context.CancellationToken)) };
    }

    /// <summary>containerd's field mask: "labels", "labels.&lt;key&gt;", "spec"; an empty mask replaces labels and spec.</summary>
    public override async Task<UpdateContainerResponse> Update(UpdateContainerRequest request, ServerCallContext context)
    {
        var c = request.Container ?? throw new InvalidArgumentException("container must be set: invalid argument");
        if (c.Id.Length == 0) throw new InvalidArgumentException("must specify a container id: invalid argument");
        var view = await RequestNamespace.OwnerOfAsync(runtime, context, c.Id);
        var paths = request.UpdateMask?.Paths.ToList() ?? [];
        var spec = paths.Count == 0 || paths.Contains("spec") ? OciJson.Of(c.Spec, TypeUrls.OciSpec, "container.Spec") : null;
        return new() { Container = ToProto(await view.UpdateContainerAsync(c.Id, c.Labels, spec, paths, context.CancellationToken)) };
    }

    public override async Task<Empty> Delete(DeleteContainerRequest request, ServerCallContext context)
    {
        var view = RequestNamespace.View(runtime, context);
        if (view.Cluster is { } cluster)
            await cluster.DeleteOnOwnerAsync(view, request.Id, on => on.DeleteContainerAsync(request.Id, context.CancellationToken),
                context.CancellationToken);
        else
            await view.DeleteContainerAsync(request.Id, context.CancellationToken);
        return new Empty();
    }

    private async Task<IReadOnlyList<ContainerRecord>> Listed(ListContainersRequest request, ServerCallContext context)
    {
        var ids = Filters.Ids(request.Filters, "container");
        var all = new List<ContainerRecord>();
        foreach (var view in RequestNamespace.Views(runtime, context)) all.AddRange(await view.ListContainersAsync(context.CancellationToken));
        return ids is null ? all : all.Where(c => ids.Contains(c.Id)).ToList();
    }

    /// <summary>
    /// In cluster mode, where a container created through this API goes: the node its <see cref="PlacementLabel"/> names,
    /// any node for "anywhere", else this node (where the caller's FIFOs are).
    /// </summary>
    internal static Placement PlacementOf(IDictionary<string, string> labels, string self) =>
        labels.TryGetValue(PlacementLabel, out var wanted) && wanted.Length > 0
            ? wanted == "anywhere" ? Placement.Anywhere : Placement.On(wanted)
            : Placement.On(self);

    /// <summary>The label that places a container created through the API (a node name, or "anywhere").</summary>
    public const string PlacementLabel = "actorruntime.io/placement";

    private static Container ToProto(ContainerRecord record)
    {
        var container = new Container
        {
            Id = record.Id,
            Image = record.Image,
            Runtime = new Container.Types.Runtime
            {
                Name = record.RuntimeName,
                Options = record.RuntimeOptions is { } options ? Any.Parser.ParseFrom(options) : null,
            },
            Spec = OciJson.Pack(TypeUrls.OciSpec, record.SpecJson),
            CreatedAt = Timestamp.FromDateTimeOffset(record.CreatedAt),
            UpdatedAt = Timestamp.FromDateTimeOffset(record.UpdatedAt),
        };
        container.Labels.Add(record.Labels);
        return container;
    }
}
