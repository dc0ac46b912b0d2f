using System.Net.Sockets;

namespace ActorRuntime.Protocol.Ttrpc;

/// <summary>Address handling for ttrpc unix sockets ("unix:///path" or a plain path).</summary>
public static class UnixSocket
{
    public const string Scheme = "unix://";

    public static string PathOf(string address) =>
        address.StartsWith(Scheme, StringComparison.Ordinal) ? address[Scheme.Length..] : address;

    public static async Task<Socket> ConnectAsync(string address, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(PathOf(address)), ct).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
