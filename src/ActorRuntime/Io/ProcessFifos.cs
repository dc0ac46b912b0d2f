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

    /// <summary>Creates stdout and stderr FIFOs (and stdin when asked) for <paramref name="id"/> under <paramref name="root"/>.</summary>
    public static ProcessFifos Create(string root, string id, bool withStdin = false, bool terminal = false)
    {
        Identifiers.Validate(id, "process id");
        var directory = Path.Combine(root, Guid.NewGuid().ToString("N")[..16]);
        System.IO.Directory.CreateDirectory(directory);
        try
        {
            Libc.ChmodOrThrow(directory, 0x1C0 /* 0700 */);
            string Make(string name)
            {
                var path = Path.Combine(directory, $"{id}-{name}");
                if (Libc.MkFifo(path, 0x180 /* 0600 */) != 0) throw Libc.Error("mkfifo", path, Libc.LastError);
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

/// <summary>
/// Copies everything written into a FIFO to a stream until its writer (the shim) closes it. Opened O_RDONLY|O_NONBLOCK
/// so opening never blocks; Linux reports POLLHUP only after a writer has come and gone, which marks the end.
/// </summary>
public static class FifoReader
{
    public static Task CopyToAsync(string fifoPath, Stream destination, CancellationToken ct) =>
        Task.Factory.StartNew(() => Copy(fifoPath, destination, ct), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static unsafe void Copy(string fifoPath, Stream destination, CancellationToken ct)
    {
        var fd = Libc.Open(fifoPath, Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        if (fd < 0) throw Libc.Error("open", fifoPath, Libc.LastError);
        try
        {
            var buffer = new byte[16 * 1024];
            while (true)
            {
                var pollFd = new Libc.PollFd { Fd = fd, Events = Libc.POLLIN };
                var ready = Libc.Poll(&pollFd, 1, ct.IsCancellationRequested ? 0 : 100);
                if (ready < 0)
                {
                    if (Libc.LastError == Libc.EINTR) continue;
                    throw Libc.Error("poll", fifoPath, Libc.LastError);
                }
                if (ready == 0)
                {
                    if (ct.IsCancellationRequested) return;
                    continue;
                }
                nint count;
                fixed (byte* p = buffer) count = Libc.Read(fd, p, (nuint)buffer.Length);
                if (count > 0)
                {
                    destination.Write(buffer, 0, (int)count);
                    destination.Flush();
                    continue;
                }
                if (count < 0 && Libc.LastError is Libc.EAGAIN or Libc.EINTR) continue;
                if (count < 0) throw Libc.Error("read", fifoPath, Libc.LastError);
                // read() == 0: no writer. Only the end if one had connected (POLLHUP); else keep waiting for it.
                if ((pollFd.Revents & Libc.POLLHUP) != 0) return;
            }
        }
        finally
        {
            Libc.Close(fd);
        }
    }
}
