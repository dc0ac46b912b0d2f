using ActorRuntime.Native;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;

namespace ActorRuntime.Io;

/// <summary>
/// The stdio FIFOs of one process, in their own directory (as containerd's client makes them under
/// /run/containerd/fifo/&lt;random&gt;): created before Create/Exec, read by us, removed on Dispose so none leak.
/// </summary>
public sealed class ProcessFifos : IDisposable
{
    private ProcessFifos(string directory, Stdio stdio)
    {
        Directory = directory;
        Stdio = stdio;
    }

    public string Directory { get; }

    public Stdio Stdio { get; }

    /// <summary>
    /// Creates stdout and stderr FIFOs (and stdin when asked) for <paramref name="id"/> under <paramref name="root"/>;
    /// with <paramref name="owner"/> the directory and FIFOs belong to that uid:gid (runc's IoUid/IoGid: a process
    /// running as another user must be able to open them).
    /// </summary>
    public static ProcessFifos Create(string root, string id, bool withStdin = false, bool terminal = false,
        (int Uid, int Gid)? owner = null)
    {
        Identifiers.Validate(id, "process id");
        var directory = Path.Combine(root, Guid.NewGuid().ToString("N")[..16]);
        System.IO.Directory.CreateDirectory(directory);
        try
        {
            Libc.ChmodOrThrow(directory, 0x1C0 /* 0700 */);
            if (owner is { } dirOwner) Libc.ChownOrThrow(directory, dirOwner.Uid, dirOwner.Gid);
            string Make(string name)
            {
                var path = Path.Combine(directory, $"{id}-{name}");
                if (Libc.MkFifo(path, 0x180 /* 0600 */) != 0) throw Libc.Error("mkfifo", path, Libc.LastError);
                if (owner is { } fifoOwner) Libc.ChownOrThrow(path, fifoOwner.Uid, fifoOwner.Gid);
                return path;
            }
            var stdin = withStdin ? Make("stdin") : "";
            var stdout = Make("stdout");
            // With a terminal the shim copies the pty to stdout only; stderr stays empty.
            var stderr = terminal ? "" : Make("stderr");
            return new ProcessFifos(directory, new Stdio(stdin, stdout, stderr, terminal));
        }
        catch
        {
            System.IO.Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
