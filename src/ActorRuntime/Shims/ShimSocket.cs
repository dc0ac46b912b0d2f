using System.Net.Sockets;
using ActorRuntime.Protocol.Ttrpc;

namespace ActorRuntime.Shims;

/// <summary>
/// The shim's listening socket file (<c>/run/containerd/s/&lt;hash&gt;</c>). A shim that exits normally removes it;
/// one that was killed, or that died before serving, leaves it behind.
/// </summary>
public static class ShimSocket
{
    /// <summary>
    /// Removes the socket file of <paramref name="address"/> when nothing listens on it any more (connect is refused).
    /// A live socket is left alone. Returns true when a stale file was removed.
    /// </summary>
    public static async Task<bool> RemoveIfStaleAsync(string address, CancellationToken ct = default)
    {
        var path = UnixSocket.PathOf(address);
        if (!File.Exists(path)) return false;
        try
        {
            using var socket = await UnixSocket.ConnectAsync(address, ct).ConfigureAwait(false);
            return false; // someone serves it
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            // Only the same (address, namespace, id) hashes to this path, and its owner is the caller; no race with a stranger.
            File.Delete(path);
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable ||
                                        e.SocketErrorCode == SocketError.HostNotFound)
        {
            return false; // vanished meanwhile
        }
    }
}
