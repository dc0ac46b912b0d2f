using System.Net.Sockets;
using ActorRuntime.Daemon;
using ActorRuntime.Tests.Runtime;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Daemon;

/// <summary>
/// actorruntimed's gRPC server (<see cref="DaemonApi"/>) over a runtime with fake shims, called through a real gRPC
/// client on a unix socket, as containerd's clients call it.
/// </summary>
public abstract class DaemonApiSpecBase(ITestOutputHelper output) : RuntimeSpecBase(output), IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("actorruntimed-spec-").FullName;
    private WebApplication? _app;

    protected GrpcChannel Channel { get; private set; } = null!;

    /// <summary>The containerd-namespace header of the runtime's own namespace, which every namespaced call carries.</summary>
    protected Metadata InNamespace => new() { { "containerd-namespace", Settings.Namespace } };

    protected static Task<RpcException> Refused(Func<Task> call) => Assert.ThrowsAsync<RpcException>(call);

    async Task IAsyncLifetime.InitializeAsync()
    {
        await InitializeAsync();
        var address = Path.Combine(_dir, "api.sock");
        _app = DaemonApi.Build(Runtime, address, Guid.NewGuid().ToString(), l => { });
        await _app.StartAsync();
        Channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(address), ct);
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
}
