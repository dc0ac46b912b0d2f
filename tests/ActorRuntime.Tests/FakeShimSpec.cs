using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.TestKit;

namespace ActorRuntime.Tests;

/// <summary>The fake shim's own faults, where the runtime's specs depend on them behaving as a real shim would.</summary>
public sealed class FakeShimSpec : IDisposable
{
    private readonly string _dir = Path.Combine("/run/actorruntime-fake", "spec-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_shim_killed_while_its_connections_drop_stays_dead_with_its_socket_refusing_connections()
    {
        // Nobody listens for its events: nothing here forwards any.
        await using var shim = new FakeShim(Path.Combine(_dir, "c1.sock"), "spec", UnixSocket.Scheme + Path.Combine(_dir, "events.sock"));

        // As in the runtime: the drop closes the connection, whose loss makes the cleanup kill the shim before the drop is over.
        var drop = shim.DropConnectionsAsync();
        await shim.KillAsync();
        await drop;

        Assert.True(shim.IsDead);
        Assert.True(File.Exists(shim.SocketPath), "a SIGKILLed shim leaves its socket file");
        await Assert.ThrowsAsync<UnavailableException>(() => TtrpcClient.ConnectAsync(shim.Address));
    }
}
