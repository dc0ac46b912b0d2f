using System.Net.Sockets;
using System.Runtime.InteropServices;
using ActorRuntime.Native;

namespace ActorRuntime.Daemon;

/// <summary>The gRPC socket file: made ready before Kestrel binds it and given its access after.</summary>
internal static class DaemonSocket
{
    /// <summary>
    /// Creates the socket's directory and removes a stale socket a dead daemon left (Kestrel cannot bind over it). A
    /// socket something still answers on is not taken over, nor is anything that is not a socket: both refuse with
    /// InvalidOperationException.
    /// </summary>
    public static void Prepare(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (Directory.Exists(path)) throw new InvalidOperationException($"address {path} is a directory");
        if (!File.Exists(path)) return;
        if (!IsSocket(path)) throw new InvalidOperationException($"address {path} exists and is not a socket: refusing to replace it");
        if (Answers(path)) throw new InvalidOperationException($"address {path} is in use: another server listens on it");
        File.Delete(path);
    }

    /// <summary>0600, or 0660 and the group when one was given (containerd's grpc.gid).</summary>
    public static void SetAccess(string path, int? group)
    {
        if (group is { } gid)
        {
            Libc.ChgrpOrThrow(path, gid);
            Libc.ChmodOrThrow(path, 0b110_110_000);
        }
        else
        {
            Libc.ChmodOrThrow(path, 0b110_000_000);
        }
    }

    // open(2) of a unix socket fails with ENXIO; .NET has no file-type query that shows sockets.
    private static bool IsSocket(string path)
    {
        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        if (fd >= 0)
        {
            Libc.Close(fd);
            return false;
        }
        return Marshal.GetLastPInvokeError() == Libc.ENXIO;
    }

    private static bool Answers(string path)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
