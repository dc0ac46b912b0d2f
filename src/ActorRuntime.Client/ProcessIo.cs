using ActorRuntime.Io;
using ActorRuntime.Tasks;

namespace ActorRuntime.Client;

/// <summary>
/// One process's stdio as containerd's cio makes it: a FIFO set in its own directory under the client's state
/// directory (stdin only when asked for, no stderr with a terminal), opened by the client; the streams carry the
/// process's bytes with the FIFOs' back-pressure. Disposing closes the streams and removes the FIFOs and directory.
/// </summary>
public sealed class ProcessIo : IAsyncDisposable
{
    private readonly FifoStream? _stdin;
    private FifoStream? _stdinKeeper;
    private int _disposed;

    private ProcessIo(Stdio paths, string directory, FifoStream? stdin, FifoStream? stdinKeeper, FifoStream? stdout, FifoStream? stderr)
    {
        (Paths, Directory, _stdin, _stdinKeeper, Stdout, Stderr) = (paths, directory, stdin, stdinKeeper, stdout, stderr);
    }

    /// <summary>The paths given to the shim.</summary>
    public Stdio Paths { get; }

    /// <summary>Write to reach the process's stdin; dispose it to close stdin (CloseStdinAsync does the same).</summary>
    public Stream? Stdin => _stdin;

    public Stream? Stdout { get; }

    public Stream? Stderr { get; }

    /// <summary>The FIFOs' own directory.</summary>
    public string Directory { get; }

    /// <summary>
    /// Completed once the caller disposed <see cref="Stdin"/> (never, without stdin). The client turns it into the
    /// shim's CloseIO once the process is registered: moby's stdin-close synchronisation, so a caller that closes
    /// its input before the start still reaches the process.
    /// </summary>
    public Task StdinClosed => _stdin?.Closed ?? Task.Delay(Timeout.Infinite);

    /// <summary>
    /// Makes the FIFO set of <paramref name="processId"/> in a new random directory under <paramref name="directory"/>
    /// and opens the client's ends (never blocking: the shim opens its ends later). <paramref name="owner"/> gives the
    /// directory and FIFOs to the process's user (runc's IoUid/IoGid).
    /// </summary>
    public static ProcessIo Create(string directory, string processId, bool withStdin, bool terminal,
        (int Uid, int Gid)? owner = null)
    {
        System.IO.Directory.CreateDirectory(directory);
        var fifos = ProcessFifos.Create(directory, processId, withStdin, terminal, owner);
        try
        {
            return Open(fifos.Stdio, fifos.Directory);
        }
        catch
        {
            fifos.Dispose();
            throw;
        }
    }

    /// <summary>The FIFOs a running process was started with, opened again (after a host or runtime restart).</summary>
    public static ProcessIo Reopen(Stdio paths)
    {
        var directory = Path.GetDirectoryName(paths.Stdout)
            ?? throw new ArgumentException($"stdout path {paths.Stdout} has no directory", nameof(paths));
        return Open(paths, directory);
    }

    private static ProcessIo Open(Stdio paths, string directory)
    {
        var opened = new List<FifoStream>();
        FifoStream? OpenIf(string path, Func<string, FifoStream> open)
        {
            if (path.Length == 0) return null;
            var stream = open(path);
            opened.Add(stream);
            return stream;
        }
        try
        {
            var stdin = OpenIf(paths.Stdin, FifoStream.OpenWrite);
            // A read end that never reads: a FIFO drops its buffered bytes once no end is open, so input the caller
            // writes and closes before the shim opens its ends (`echo hi | arctl exec -i`) would vanish without it.
            var stdinKeeper = OpenIf(paths.Stdin, FifoStream.OpenRead);
            var stdout = OpenIf(paths.Stdout, FifoStream.OpenRead);
            var stderr = OpenIf(paths.Stderr, FifoStream.OpenRead);
            return new ProcessIo(paths, directory, stdin, stdinKeeper, stdout, stderr);
        }
        catch
        {
            foreach (var stream in opened) stream.Dispose();
            throw;
        }
    }

    /// <summary>The process is started: the shim holds its own ends of stdin, so buffered input no longer needs ours.</summary>
    public void Started() => Interlocked.Exchange(ref _stdinKeeper, null)?.Dispose();

    /// <summary>
    /// Closes the client's ends and leaves the FIFOs for <see cref="Reopen"/>: the host goes away, the process keeps
    /// running (its output waits in the FIFOs, as much as they hold).
    /// </summary>
    public async ValueTask DetachAsync()
    {
        Started();
        foreach (var stream in new[] { Stdin, Stdout, Stderr })
            if (stream is not null) await stream.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await DetachAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
