using ActorRuntime.Tasks;

namespace ActorRuntime.Client;

/// <summary>
/// One process's stdio as containerd's cio makes it: a FIFO set in its own directory under the client's state
/// directory (stdin only when asked for, no stderr with a terminal), opened by the client; the streams carry the
/// process's bytes with the FIFOs' back-pressure. Disposing closes the streams and removes the FIFOs and directory.
/// </summary>
public sealed class ProcessIo : IAsyncDisposable
{
    /// <summary>The paths given to the shim.</summary>
    public required Stdio Paths { get; init; }

    /// <summary>Write to reach the process's stdin; dispose it to close stdin (CloseStdinAsync does the same).</summary>
    public Stream? Stdin { get; init; }

    public Stream? Stdout { get; init; }

    public Stream? Stderr { get; init; }

    /// <summary>The FIFOs' own directory (null: nothing on disk, e.g. null IO or a log file).</summary>
    public string? Directory { get; init; }

    public async ValueTask DisposeAsync()
    {
        foreach (var stream in new[] { Stdin, Stdout, Stderr })
            if (stream is not null) await stream.DisposeAsync();
        if (Directory is not null && System.IO.Directory.Exists(Directory))
            System.IO.Directory.Delete(Directory, recursive: true);
    }
}
