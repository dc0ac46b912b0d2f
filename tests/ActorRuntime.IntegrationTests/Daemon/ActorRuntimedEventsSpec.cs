using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Protocol.Api.Events;
using ActorRuntime.Protocol.Api.Namespaces;
using ActorRuntime.Testing;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using VersionClient = ActorRuntime.Protocol.Api.Version.Version.VersionClient;

namespace ActorRuntime.IntegrationTests.Daemon;

/// <summary>
/// The real actorruntimed: the real ctr's <c>ctr events</c> sees namespace events, and a raw gRPC client on its socket
/// gets containerd's answers to bad requests, the daemon serving after each. Each test has its own socket, root and
/// state directory, removed afterwards, and stops every process it started.
/// </summary>
public sealed class ActorRuntimedEventsSpec : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly string _dir;
    private DaemonProcess? _daemon;
    private Process? _events;
    private GrpcChannel? _channel;

    public ActorRuntimedEventsSpec()
    {
        if (!Environment.IsPrivilegedProcess) throw new InvalidOperationException("integration tests must run as root");
        _dir = Path.Combine(ShimTestEnvironment.TestRoot, "daemon-events-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_dir);
    }

    private string Address => Path.Combine(_dir, "actorruntimed.sock");

    public async Task InitializeAsync()
    {
        _daemon = DaemonProcess.Start(Address, Path.Combine(_dir, "root"), Path.Combine(_dir, "state"));
        await _daemon.WaitServingAsync(Bound);
    }

    public async Task DisposeAsync()
    {
        if (_events is { HasExited: false }) _events.Kill();
        _events?.Dispose();
        _channel?.Dispose();
        if (_daemon is not null) await _daemon.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>`ctr events` in the background; every line it prints is kept.</summary>
    private ConcurrentQueue<string> StartCtrEvents()
    {
        var lines = new ConcurrentQueue<string>();
        var start = new ProcessStartInfo("ctr") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-a", Address, "events" }) start.ArgumentList.Add(arg);
        _events = Process.Start(start)!;
        _events.OutputDataReceived += (_, e) => { if (e.Data is { } line) lines.Enqueue(line); };
        _events.ErrorDataReceived += (_, e) => { if (e.Data is { } line) lines.Enqueue("stderr: " + line); };
        _events.BeginOutputReadLine();
        _events.BeginErrorReadLine();
        return lines;
    }

    private static string Seen(ConcurrentQueue<string> lines) => string.Join('\n', lines);

    [Fact]
    public async Task Ctr_events_sees_a_namespace_created_and_removed_by_another_ctr_once_each()
    {
        var lines = StartCtrEvents();
        // ctr prints nothing until an event comes: create namespaces until one shows, then the stream is surely open.
        for (var i = 0; !lines.Any(l => l.Contains("/namespaces/create")); i++)
        {
            Assert.True(i < 50, "ctr events saw no event: " + Seen(lines));
            await Ctr.OkAsync(Address, "namespaces", "create", $"probe{i}");
            await EventuallyQuietlyAsync(() => lines.Any(l => l.Contains("/namespaces/create")), TimeSpan.FromMilliseconds(500));
        }

        await Ctr.OkAsync(Address, "namespaces", "create", "x", "tier=web");
        await Ctr.OkAsync(Address, "namespaces", "remove", "x");
        await EventuallyAsync(() => lines.Any(l => l.Contains("/namespaces/delete")), "ctr events to print the delete", Bound,
            () => Seen(lines));

        var created = Assert.Single(lines, l => l.Contains("/namespaces/create") && l.Contains("\"name\":\"x\""));
        Assert.Contains("default", created);
        Assert.Contains("\"tier\":\"web\"", created);
        Assert.Single(lines, l => l.Contains("/namespaces/delete") && l.Contains("\"name\":\"x\""));
        Assert.DoesNotContain(lines, l => l.StartsWith("stderr:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_raw_grpc_client_gets_containerds_codes_for_bad_requests_and_the_daemon_serves_after_each()
    {
        _channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            MaxSendMessageSize = null,
            HttpHandler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(Address), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                },
            },
        });
        var version = new VersionClient(_channel);
        async Task StillServes() => Assert.NotEmpty((await version.VersionAsync(new Empty())).Version);
        var inDefault = new Metadata { { "containerd-namespace", "default" } };

        var marshaller = Marshallers.Create<Empty>(m => m.ToByteArray(), Empty.Parser.ParseFrom);
        var nope = new Method<Empty, Empty>(MethodType.Unary, "containerd.services.events.v1.Events", "Nope", marshaller, marshaller);
        var unknown = await Assert.ThrowsAsync<RpcException>(() =>
            _channel.CreateCallInvoker().AsyncUnaryCall(nope, null, new CallOptions(inDefault), new Empty()).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, unknown.StatusCode);
        await StillServes();

        var events = new ActorRuntime.Protocol.Api.Events.Events.EventsClient(_channel);
        var publish = new PublishRequest { Topic = "/x", Event = new Any { TypeUrl = "x" } };
        var noNamespace = await Assert.ThrowsAsync<RpcException>(() => events.PublishAsync(publish).ResponseAsync);
        Assert.Equal((StatusCode.FailedPrecondition, "namespace is required: failed precondition"),
            (noNamespace.StatusCode, noNamespace.Status.Detail));
        await StillServes();

        foreach (var bad in new[] { "..", "a/b" })
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() =>
                events.PublishAsync(publish, new Metadata { { "containerd-namespace", bad } }).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
            Assert.Contains($"namespace \"{bad}\" must match", refused.Status.Detail);
            await StillServes();
        }

        var namespaces = new Namespaces.NamespacesClient(_channel);
        var tooBig = await Assert.ThrowsAsync<RpcException>(() => namespaces.CreateAsync(new CreateNamespaceRequest
        {
            Namespace = new Namespace { Name = "huge", Labels = { ["blob"] = new string('x', 17 << 20) } },
        }, inDefault).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, tooBig.StatusCode);
        await StillServes();
        Assert.Empty((await namespaces.ListAsync(new ListNamespacesRequest(), inDefault)).Namespaces);
    }

    /// <summary>Waits for the condition for at most <paramref name="within"/>, without failing.</summary>
    private static async Task EventuallyQuietlyAsync(Func<bool> condition, TimeSpan within)
    {
        var until = DateTime.UtcNow + within;
        while (!condition() && DateTime.UtcNow < until) await Task.Delay(20);
    }
}
