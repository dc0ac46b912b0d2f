using ActorRuntime.Daemon;
using ActorRuntime.Protocol.Api.Health;
using ActorRuntime.Protocol.Api.Namespaces;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Daemon;

/// <summary>The namespaces service's answers and errors as containerd's clients see them.</summary>
public sealed class NamespacesServiceSpec(ITestOutputHelper output) : DaemonServerSpecBase(output)
{
    private Namespaces.NamespacesClient Client => new(Channel);

    [Fact]
    public async Task Get_succeeds_for_a_namespace_never_created_as_dockerd_needs_at_startup()
    {
        var got = await Client.GetAsync(new GetNamespaceRequest { Name = "moby" });
        Assert.Equal("moby", got.Namespace.Name);
        Assert.Empty(got.Namespace.Labels);
        Assert.Empty((await Client.ListAsync(new ListNamespacesRequest())).Namespaces);
    }

    [Fact]
    public async Task Create_update_list_and_delete_answer_with_containerd_codes_and_messages()
    {
        var create = new CreateNamespaceRequest { Namespace = new Namespace { Name = "x", Labels = { ["a"] = "1" } } };
        await Client.CreateAsync(create);
        var taken = await Refused(() => Client.CreateAsync(create).ResponseAsync);
        Assert.Equal((StatusCode.AlreadyExists, "namespace \"x\": already exists"), (taken.StatusCode, taken.Status.Detail));

        var update = new UpdateNamespaceRequest
        {
            Namespace = new Namespace { Name = "x", Labels = { ["b"] = "2" } },
            UpdateMask = new FieldMask { Paths = { "labels.b", "labels.a" } },
        };
        var updated = await Client.UpdateAsync(update);
        Assert.Equal(new Dictionary<string, string> { ["b"] = "2" }, updated.Namespace.Labels);
        var listed = Assert.Single((await Client.ListAsync(new ListNamespacesRequest())).Namespaces);
        Assert.Equal(updated.Namespace, listed);

        await Client.DeleteAsync(new DeleteNamespaceRequest { Name = "x" });
        var gone = await Refused(() => Client.DeleteAsync(new DeleteNamespaceRequest { Name = "x" }).ResponseAsync);
        Assert.Equal((StatusCode.NotFound, "namespace \"x\": not found"), (gone.StatusCode, gone.Status.Detail));
    }

    [Fact]
    public async Task A_bad_name_or_a_missing_namespace_is_InvalidArgument_naming_the_problem()
    {
        var bad = await Refused(() => Client.CreateAsync(new CreateNamespaceRequest { Namespace = new Namespace { Name = "../etc" } })
            .ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        Assert.StartsWith("namespace \"../etc\" must match", bad.Status.Detail);
        var empty = await Refused(() => Client.GetAsync(new GetNamespaceRequest()).ResponseAsync);
        Assert.Equal((StatusCode.InvalidArgument, "namespace must not be empty: invalid argument"), (empty.StatusCode, empty.Status.Detail));
        var unset = await Refused(() => Client.CreateAsync(new CreateNamespaceRequest()).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, unset.StatusCode);
        var mask = await Refused(() => Client.UpdateAsync(new UpdateNamespaceRequest
        {
            Namespace = new Namespace { Name = "x" },
            UpdateMask = new FieldMask { Paths = { "name" } },
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, mask.StatusCode);
    }

    [Fact]
    public async Task A_namespace_first_used_by_a_container_is_listed_as_containerd_lists_it_and_a_create_then_finds_it()
    {
        await Runtime.InNamespace("implicit").CreateContainerAsync("c1", Spec);

        var listed = Assert.Single((await Client.ListAsync(new ListNamespacesRequest())).Namespaces);
        Assert.Equal(("implicit", 0), (listed.Name, listed.Labels.Count));
        var again = await Refused(() => Client.CreateAsync(new CreateNamespaceRequest { Namespace = new Namespace { Name = "implicit" } }).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, again.StatusCode);
        await Runtime.InNamespace("implicit").DeleteContainerAsync("c1");
    }

    [Fact]
    public async Task Deleting_the_runtime_namespace_while_it_has_containers_is_FailedPrecondition()
    {
        await Client.CreateAsync(new CreateNamespaceRequest { Namespace = new Namespace { Name = Settings.Namespace } });
        await Runtime.CreateContainerAsync("c1", Spec);
        var busy = await Refused(() => Client.DeleteAsync(new DeleteNamespaceRequest { Name = Settings.Namespace }).ResponseAsync);
        Assert.Equal(
            (StatusCode.FailedPrecondition, $"namespace \"{Settings.Namespace}\" must be empty, but it still has containers: failed precondition"),
            (busy.StatusCode, busy.Status.Detail));

        await Runtime.DeleteContainerAsync("c1");
        await Client.DeleteAsync(new DeleteNamespaceRequest { Name = Settings.Namespace });
        Assert.Empty((await Client.ListAsync(new ListNamespacesRequest())).Namespaces);
    }

    [Fact]
    public async Task Health_is_serving_and_a_service_or_method_we_do_not_serve_is_unimplemented()
    {
        var health = await new Health.HealthClient(Channel).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

        var marshaller = Marshallers.Create<Empty>(m => m.ToByteArray(), Empty.Parser.ParseFrom);
        var contentList = new Method<Empty, Empty>(MethodType.Unary, "containerd.services.content.v1.Content", "List",
            marshaller, marshaller);
        var unknown = await Refused(() => Channel.CreateCallInvoker().AsyncUnaryCall(contentList, null, new CallOptions(), new Empty())
            .ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, unknown.StatusCode);
        var namespacesNope = new Method<Empty, Empty>(MethodType.Unary, "containerd.services.namespaces.v1.Namespaces", "Nope",
            marshaller, marshaller);
        var unknownMethod = await Refused(() => Channel.CreateCallInvoker()
            .AsyncUnaryCall(namespacesNope, null, new CallOptions(), new Empty()).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, unknownMethod.StatusCode);
        var unknownHealth = await Refused(() => new Health.HealthClient(Channel)
            .CheckAsync(new HealthCheckRequest { Service = "containerd.services.content.v1.Content" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknownHealth.StatusCode);
    }

    [Fact]
    public async Task Introspection_lists_every_service_the_server_maps_and_health_answers_for_each()
    {
        var mapped = MappedServices;
        Assert.Contains("containerd.services.tasks.v1.Tasks", mapped);
        var listed = ActorRuntime.Daemon.Services.IntrospectionService.Served.Select(p => p.GrpcService).OfType<string>().ToHashSet();
        Assert.Equal(mapped.Order(), listed.Order());
        var health = new Health.HealthClient(Channel);
        foreach (var service in mapped)
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving,
                (await health.CheckAsync(new HealthCheckRequest { Service = service })).Status);
    }
}
