using System.Diagnostics;
using System.Runtime.InteropServices;
using ActorRuntime.Protocol.Ttrpc;

namespace ActorRuntime.Host;

/// <summary>
/// Fault injection for the <c>drop-connection</c> request: breaks this process's ttrpc connections to one shim socket
/// as a broken socket would (shutdown(2) on our end: both sides read end-of-file), without a word to the runtime. The
/// shim's accepted sockets are found with <c>ss -xn</c> (their local address is the shim's socket path, their peer our
/// socket's inode); our fds with those inodes are found in /proc/self/fd.
/// </summary>
internal static class DroppedConnection
{
    private const int ShutRdWr = 2;

    [DllImport("libc", EntryPoint = "shutdown", SetLastError = true)]
#pragma warning disable SYSLIB1054 // a DllImport keeps the host free of unsafe code
    private static extern int Shutdown(int fd, int how);
#pragma warning restore SYSLIB1054

    /// <summary>Shuts down every connection of ours to <paramref name="address"/>; returns how many.</summary>
    public static async Task<int> DropAsync(string address, CancellationToken ct)
    {
        var path = UnixSocket.PathOf(address);
        var ours = await PeerInodesAsync(path, ct);
        var dropped = 0;
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(fd).LinkTarget;
            }
            catch (IOException)
            {
                continue; // closed meanwhile
            }
            if (target is null || !target.StartsWith("socket:[", StringComparison.Ordinal)) continue;
            if (!ours.Contains(target["socket:[".Length..^1])) continue;
            if (Shutdown(int.Parse(Path.GetFileName(fd)), ShutRdWr) == 0) dropped++;
        }
        return dropped;
    }

    /// <summary>The peer inodes of the sockets the shim accepted on <paramref name="path"/>.</summary>
    private static async Task<HashSet<string>> PeerInodesAsync(string path, CancellationToken ct)
    {
        var startInfo = new ProcessStartInfo("ss", ["-x", "-n"]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var ss = Process.Start(startInfo) ?? throw new InvalidOperationException("ss did not start");
        var output = await ss.StandardOutput.ReadToEndAsync(ct);
        await ss.WaitForExitAsync(ct);
        // Netid State Recv-Q Send-Q Local-Address Local-Inode Peer-Address Peer-Inode
        return output.Split('\n')
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 8 && f[1] == "ESTAB" && f[4] == path)
            .Select(f => f[7])
            .ToHashSet();
    }
}
