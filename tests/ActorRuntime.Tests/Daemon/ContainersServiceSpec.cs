using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Api.Containers;
using ActorRuntime.Protocol.Runc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Daemon;

/// <summary>The containers service as ctr and dockerd call it: what comes back, and containerd's codes for bad input.</summary>
public sealed class ContainersServiceSpec(ITestOutputHelper output) : DaemonServerSpecBase(output)
{
    private ActorRuntime.Protocol.Api.Containers.Containers.ContainersClient Client => new(Channel);

    private static Any SpecAny(string json, string typeUrl = TypeUrls.OciSpec) => new() { TypeUrl = typeUrl, Value = ByteString.CopyFromUtf8(json) };

    private static Container NewContainer(string id, string specJson = """{"ociVersion":"1.0.2","root":{"path":"/r"}}""") => new()
    {
        Id = id,
        Runtime = new Container.Types.Runtime { Name = "io.containerd.runc.v2", Options = TypeUrls.Pack(new Options { BinaryName = "runc", Root = "/x" }) },
        Spec = SpecAny(specJson),
    };

    private Task<CreateContainerResponse> Create(Container container) =>
        Client.CreateAsync(new CreateContainerRequest { Container = container }, In(Settings.Namespace)).ResponseAsync;

    [Fact]
    public async Task Get_returns_labels_spec_and_runtime_options_exactly_as_created()
    {
        var sent = NewContainer("c1");
        sent.Labels.Add("com.docker/engine.bundle.path", "/run/docker/containerd/c1");
        sent.Image = "busybox";
        await Create(sent);

        var got = (await Client.GetAsync(new GetContainerRequest { Id = "c1" }, In(Settings.Namespace))).Container;
        Assert.Equal(sent.Labels, got.Labels);
        Assert.Equal(sent.Spec, got.Spec);
        Assert.Equal(sent.Runtime, got.Runtime);
        Assert.Equal("busybox", got.Image);
        Assert.True(got.CreatedAt.Seconds > 0, got.ToString());
        Assert.Equal(got.CreatedAt, got.UpdatedAt);

        Assert.Equal(got, Assert.Single((await Client.ListAsync(new ListContainersRequest(), In(Settings.Namespace))).Containers));
        using var stream = Client.ListStream(new ListContainersRequest(), In(Settings.Namespace));
        var streamed = new List<Container>();
        while (await stream.ResponseStream.MoveNext()) streamed.Add(stream.ResponseStream.Current.Container);
        Assert.Equal(got, Assert.Single(streamed));

        await Client.DeleteAsync(new DeleteContainerRequest { Id = "c1" }, In(Settings.Namespace));
        var gone = await Refused(() => Client.GetAsync(new GetContainerRequest { Id = "c1" }, In(Settings.Namespace)).ResponseAsync);
        Assert.Equal((StatusCode.NotFound, $"container \"c1\" in namespace \"{Settings.Namespace}\": not found"),
            (gone.StatusCode, gone.Status.Detail));
    }

    [Theory]
    [InlineData("types.containerd.io/opencontainers/runtime-spec/1/Process", "{}", "container.Spec has type \"types.containerd.io/opencontainers/runtime-spec/1/Process\"")]
    [InlineData(TypeUrls.OciSpec, "not json", "container.Spec is not valid JSON")]
    [InlineData(TypeUrls.OciSpec, "[1]", "container.Spec must be a JSON object")]
    [InlineData("", "", "container.Spec must be set")]
    public async Task A_spec_that_is_not_an_OCI_Spec_JSON_object_is_InvalidArgument_naming_it(string typeUrl, string value, string message)
    {
        var container = NewContainer("c1");
        container.Spec = SpecAny(value, typeUrl);
        var refused = await Refused(() => Create(container));
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.StartsWith(message, refused.Status.Detail);
        Assert.Empty(await Runtime.ListContainersAsync());
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData("")]
    public async Task A_bad_container_id_is_InvalidArgument_naming_it(string id)
    {
        var refused = await Refused(() => Create(NewContainer(id)));
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.StartsWith("container id", refused.Status.Detail);
    }

    [Fact]
    public async Task A_missing_runtime_name_or_a_snapshot_is_InvalidArgument()
    {
        var noRuntime = NewContainer("c1");
        noRuntime.Runtime = null;
        Assert.Equal(StatusCode.InvalidArgument, (await Refused(() => Create(noRuntime))).StatusCode);
        var snapshot = NewContainer("c1");
        snapshot.SnapshotKey = "c1";
        Assert.Equal(StatusCode.InvalidArgument, (await Refused(() => Create(snapshot))).StatusCode);
    }

    [Fact]
    public async Task A_call_without_a_namespace_is_FailedPrecondition_and_a_bad_namespace_InvalidArgument()
    {
        var none = await Refused(() => Client.GetAsync(new GetContainerRequest { Id = "c1" }).ResponseAsync);
        Assert.Equal((StatusCode.FailedPrecondition, "namespace is required: failed precondition"), (none.StatusCode, none.Status.Detail));
        var bad = await Refused(() => Client.GetAsync(new GetContainerRequest { Id = "c1" },
            new Metadata { { "containerd-namespace", "../x" } }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        Assert.StartsWith("namespace validation: namespace \"../x\" must match", bad.Status.Detail);
    }

    [Fact]
    public async Task Update_follows_containerds_field_mask()
    {
        var container = NewContainer("c1");
        container.Labels.Add(new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" });
        var created = (await Create(container)).Container;

        var labelsOnly = new Container { Id = "c1", Labels = { ["c"] = "3", ["a"] = "changed-but-not-in-the-mask" } };
        var masked = (await Client.UpdateAsync(new UpdateContainerRequest
        {
            Container = labelsOnly,
            UpdateMask = new FieldMask { Paths = { "labels.b", "labels.c" } },
        }, In(Settings.Namespace))).Container;
        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["c"] = "3" }, masked.Labels);
        Assert.Equal(created.Spec, masked.Spec);
        Assert.True(masked.UpdatedAt.ToDateTimeOffset() >= created.UpdatedAt.ToDateTimeOffset());

        var newSpec = SpecAny("""{"ociVersion":"1.0.2","hostname":"h"}""");
        var spec = (await Client.UpdateAsync(new UpdateContainerRequest
        {
            Container = new Container { Id = "c1", Spec = newSpec },
            UpdateMask = new FieldMask { Paths = { "spec" } },
        }, In(Settings.Namespace))).Container;
        Assert.Equal(newSpec, spec.Spec);
        Assert.Equal(masked.Labels, spec.Labels);

        var whole = (await Client.UpdateAsync(new UpdateContainerRequest { Container = new Container { Id = "c1", Spec = created.Spec } },
            In(Settings.Namespace))).Container;
        Assert.Empty(whole.Labels);
        Assert.Equal(created.Spec, whole.Spec);
        Assert.Equal(created.Runtime, whole.Runtime);

        var image = await Refused(() => Client.UpdateAsync(new UpdateContainerRequest
        {
            Container = new Container { Id = "c1" },
            UpdateMask = new FieldMask { Paths = { "image" } },
        }, In(Settings.Namespace)).ResponseAsync);
        Assert.Equal((StatusCode.InvalidArgument, "cannot update \"image\" field on \"c1\": invalid argument"),
            (image.StatusCode, image.Status.Detail));
        var noSpec = await Refused(() => Client.UpdateAsync(new UpdateContainerRequest { Container = new Container { Id = "c1" } },
            In(Settings.Namespace)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, noSpec.StatusCode);
        var missing = await Refused(() => Client.UpdateAsync(new UpdateContainerRequest
        {
            Container = new Container { Id = "nope" },
            UpdateMask = new FieldMask { Paths = { "labels" } },
        }, In(Settings.Namespace)).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task List_filters_by_id_and_refuses_a_filter_it_does_not_serve()
    {
        await Create(NewContainer("c1"));
        await Create(NewContainer("c2"));
        var one = await Client.ListAsync(new ListContainersRequest { Filters = { "id==c2" } }, In(Settings.Namespace));
        Assert.Equal(["c2"], one.Containers.Select(c => c.Id));
        var either = await Client.ListAsync(new ListContainersRequest { Filters = { "id==c2", "id==c1" } }, In(Settings.Namespace));
        Assert.Equal(["c1", "c2"], either.Containers.Select(c => c.Id).Order());
        var labels = await Refused(() => Client.ListAsync(new ListContainersRequest { Filters = { "labels.a==1" } }, In(Settings.Namespace)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, labels.StatusCode);
        Assert.Contains("labels.a==1", labels.Status.Detail);
    }
}
