using ActorRuntime.Protocol.Api.Events;
using ActorRuntime.Protocol.Api.Namespaces;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Xunit.Abstractions;
using EventsClient = ActorRuntime.Protocol.Api.Events.Events.EventsClient;

namespace ActorRuntime.Tests.Daemon;

/// <summary>
/// What actorruntimed answers to bad requests, and that it goes on serving after each: containerd's codes and messages,
/// and containerd's 16 MiB message limit.
/// </summary>
public sealed class DaemonBadInputSpec(ITestOutputHelper output) : DaemonServerSpecBase(output)
{
    private static readonly Marshaller<Empty> EmptyMarshaller = Marshallers.Create(m => m.ToByteArray(), Empty.Parser.ParseFrom);

    /// <summary>A good call: the daemon still serves.</summary>
    private async Task StillServesAsync() =>
        Assert.False(string.IsNullOrEmpty((await new ActorRuntime.Protocol.Api.Version.Version.VersionClient(Channel).VersionAsync(new Empty())).Version));

    [Theory]
    [InlineData("containerd.services.events.v1.Events", "Stream")]
    [InlineData("containerd.services.content.v1.Content", "Info")]
    [InlineData("containerd.services.nope.v1.Nope", "Nope")]
    public async Task An_unknown_service_or_method_is_Unimplemented(string service, string method)
    {
        var call = new Method<Empty, Empty>(MethodType.Unary, service, method, EmptyMarshaller, EmptyMarshaller);
        var unknown = await Refused(() => Channel.CreateCallInvoker().AsyncUnaryCall(call, null, new CallOptions(In("default")), new Empty())
            .ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, unknown.StatusCode);
        await StillServesAsync();
    }

    [Theory]
    [InlineData(null, StatusCode.FailedPrecondition, "namespace is required: failed precondition")]
    [InlineData("", StatusCode.FailedPrecondition, "namespace is required: failed precondition")]
    [InlineData("..", StatusCode.InvalidArgument, "namespace validation: namespace \"..\" must match")]
    [InlineData("a/b", StatusCode.InvalidArgument, "namespace validation: namespace \"a/b\" must match")]
    [InlineData("../../etc", StatusCode.InvalidArgument, "namespace validation: namespace \"../../etc\" must match")]
    public async Task A_namespaced_call_without_a_good_namespace_header_gets_containerds_error(string? ns, StatusCode code, string message)
    {
        var headers = ns is null ? new Metadata() : In(ns);
        var refused = await Refused(() => new EventsClient(Channel)
            .PublishAsync(new PublishRequest { Topic = "/x", Event = new Any { TypeUrl = "x" } }, headers).ResponseAsync);
        Assert.Equal(code, refused.StatusCode);
        Assert.StartsWith(message, refused.Status.Detail);
        await StillServesAsync();
        await SettleAsync();
        Assert.Empty(Events);
    }

    [Fact]
    public async Task A_name_with_a_slash_or_dots_is_InvalidArgument_wherever_it_comes_in()
    {
        foreach (var name in new[] { "..", "a/b", "../x" })
        {
            var refused = await Refused(() => new Namespaces.NamespacesClient(Channel)
                .CreateAsync(new CreateNamespaceRequest { Namespace = new Namespace { Name = name } }, In("default")).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
            Assert.Contains($"\"{name}\"", refused.Status.Detail);
        }
        await StillServesAsync();
        Assert.Empty(await Runtime.ListNamespacesAsync());
    }

    [Fact]
    public async Task A_10_MiB_request_is_served_as_containerd_serves_it_and_one_past_16_MiB_is_ResourceExhausted()
    {
        var client = new Namespaces.NamespacesClient(Channel);
        // 10 MiB of labels, each within containerd's 4096-byte limit: received and stored.
        var labels = Enumerable.Range(0, 2600).ToDictionary(i => $"k{i}", i => new string((char)('a' + i % 26), 4000));
        await client.CreateAsync(new CreateNamespaceRequest { Namespace = new Namespace { Name = "big", Labels = { labels } } }, In("default"));
        Assert.Equal(labels, (await client.GetAsync(new GetNamespaceRequest { Name = "big" }, In("default"))).Namespace.Labels);
        // One 10 MiB label: received too, and refused for what it is.
        var oneLabel = await Refused(() => client.CreateAsync(new CreateNamespaceRequest
        {
            Namespace = new Namespace { Name = "one", Labels = { ["blob"] = new string('x', 10 << 20) } },
        }, In("default")).ResponseAsync);
        Assert.Equal((StatusCode.InvalidArgument, "label key and value greater than maximum size (4096 bytes), key: blob: invalid argument"),
            (oneLabel.StatusCode, oneLabel.Status.Detail));

        var tooBig = await Refused(() => client.CreateAsync(new CreateNamespaceRequest
        {
            Namespace = new Namespace { Name = "huge", Labels = { ["blob"] = new string('x', (16 << 20) + 1) } },
        }, In("default")).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, tooBig.StatusCode);
        await StillServesAsync();
        Assert.Equal(["big"], (await Runtime.ListNamespacesAsync()).Select(n => n.Name));
    }
}
