using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using System.Net.Sockets;
using ActorRuntime.Daemon;
using ActorRuntime.Events;
using ActorRuntime.Tests.Runtime;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Daemon;

/// <summary>
/// actorruntimed's gRPC server (<see cref="DaemonApi"/>) over a runtime with fake shims, on a unix socket in a temp
/// directory, and a real gRPC client on it: the services' answers and errors as containerd's clients see them.
/// </summary>
public abstract class DaemonServerSpecBase(ITestOutputHelper output, string hocon = "") : RuntimeSpecBase(output, hocon), IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("actorruntimed-spec-").FullName;
    private WebApplication? _app;

    protected GrpcChannel Channel { get; private set; } = null!;

    protected string Address => Path.Combine(_dir, "api.sock");

    /// <summary>The gRPC services the server maps, by their full names.</summary>
    protected IReadOnlySet<string> MappedServices => _app!.Services.GetRequiredService<EndpointDataSource>().Endpoints
        .Select(e => e.Metadata.GetMetadata<Grpc.AspNetCore.Server.GrpcMethodMetadata>()?.Method.ServiceName)
        .OfType<string>().ToHashSet();

    async Task IAsyncLifetime.InitializeAsync()
    {
        await InitializeAsync();
        _app = DaemonApi.Build(Runtime, Address, Guid.NewGuid().ToString(), l => { }, EventBusSettings.Create(Sys.Settings.Config));
        await _app.StartAsync();
        Channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            // The client's own limits must not hide the server's (containerd's 16 MiB).
            MaxReceiveMessageSize = null,
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
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        Channel?.Dispose();
        if (_app is not null) await _app.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
        await DisposeAsync();
    }

    /// <summary>The headers of a call in <paramref name="ns"/>, as ctr and dockerd send them.</summary>
    protected static Metadata In(string ns) => new() { { "containerd-namespace", ns } };

    protected static Task<RpcException> Refused(Func<Task> call) => Assert.ThrowsAsync<RpcException>(call);
}
