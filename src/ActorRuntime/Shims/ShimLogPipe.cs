using System.Text;
using ActorRuntime.Io;
using ActorRuntime.Native;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.Shims;

/// <summary>
/// Holds a reader on a bundle's <c>log</c> FIFO for the whole life of its shim and forwards each line to a logger.
/// The shim daemon opens the FIFO for writing as its stderr; without a reader that open blocks and the shim answers
/// no RPC at all. The FIFO is opened O_RDWR|O_NONBLOCK (as containerd does) so that opening never blocks, the writer
/// never sees a reader-less FIFO and the reader never sees EOF when a shim goes away. Re-opening after a restart of
/// this process (reload of a live shim) is simply another <see cref="Open"/>.
/// </summary>
public sealed class ShimLogPipe : IDisposable, FifoPoller.ISink
{
    private const int MaxLineLength = 64 * 1024;

    private readonly int _fd;
    private readonly ILogger _logger;
    private readonly string _source;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<byte> _partialLine = [];
    private readonly FifoPoller.Registration _registration;
    private int _disposed;

    private ShimLogPipe(int fd, ILogger logger, string source, FifoPoller poller)
    {
        _fd = fd;
        _logger = logger;
        _source = source;
        // One epoll thread serves every shim's log; nothing here holds a thread or waits on a poll timeout.
        _registration = poller.Register(fd, $"shim log of {source}", this);
    }

    /// <summary>Completes when the reader stopped (after <see cref="Dispose"/>, or on a read error).</summary>
    public Task Completion => _stopped.Task;

    /// <summary>Opens the bundle's <c>log</c> FIFO; throws <see cref="IOException"/> if it is missing or not a FIFO.</summary>
    public static ShimLogPipe Open(Bundle bundle, ILogger logger) =>
        Open(bundle.LogFifoPath, logger, $"{bundle.Namespace}/{bundle.Id}");

    public static ShimLogPipe Open(string fifoPath, ILogger logger, string source) =>
        Open(fifoPath, logger, source, FifoPoller.Shared);

    internal static ShimLogPipe Open(string fifoPath, ILogger logger, string source, FifoPoller poller)
    {
        ArgumentNullException.ThrowIfNull(logger);
        // Checked before open: O_RDWR on a regular file would succeed and we would forward nothing, forever.
        switch (Libc.FileTypeOf(fifoPath))
        {
            case null: throw new FileNotFoundException($"shim log FIFO {fifoPath} does not exist", fifoPath);
            case not Libc.S_IFIFO: throw new IOException($"shim log {fifoPath} is not a FIFO");
        }
        var fd = Libc.Open(fifoPath, Libc.O_RDWR | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        if (fd < 0) throw Libc.Error("open", fifoPath, Libc.LastError);
        try
        {
            return new ShimLogPipe(fd, logger, source, poller);
        }
        catch
        {
            Libc.Close(fd);
            throw;
        }
    }

    /// <summary>True when <paramref name="path"/> itself (not a symlink to one) is a FIFO.</summary>
    public static bool IsFifo(string path) => Libc.FileTypeOf(path) == Libc.S_IFIFO;

    /// <summary>
    /// Returns as soon as the poller has drained what is left (a bounded amount) and let go of the fd; only then is it
    /// closed, so no read can hit a reused fd number.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _registration.Dispose();
        Libc.Close(_fd);
    }

    void FifoPoller.ISink.OnData(ReadOnlySpan<byte> data) => Consume(data);

    void FifoPoller.ISink.OnStopped(Exception? error)
    {
        FlushPartialLine();
        if (error is not null) _logger.LogError(error, "shim log reader for {Source} stopped", _source);
        _stopped.TrySetResult();
    }

    private void Consume(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            var newline = data.IndexOf((byte)'\n');
            if (newline < 0)
            {
                _partialLine.AddRange(data);
                if (_partialLine.Count >= MaxLineLength) FlushPartialLine();
                return;
            }
            _partialLine.AddRange(data[..newline]);
            FlushPartialLine();
            data = data[(newline + 1)..];
        }
    }

    private void FlushPartialLine()
    {
        if (_partialLine.Count == 0) return;
        var line = Encoding.UTF8.GetString(_partialLine.ToArray()).TrimEnd('\r');
        _partialLine.Clear();
        if (line.Length == 0) return;
        _logger.Log(LevelOf(line), "shim {Source}: {Line}", _source, line);
    }

    /// <summary>
    /// The shim logs logrus text (<c>time="..." level=info msg="..."</c>); keep its level. Anything else on its stderr
    /// is Go runtime output (panics, fatal errors), worth a warning.
    /// </summary>
    internal static LogLevel LevelOf(string line)
    {
        var at = line.IndexOf("level=", StringComparison.Ordinal);
        if (at < 0) return LogLevel.Warning;
        var rest = line.AsSpan(at + "level=".Length);
        var end = rest.IndexOf(' ');
        var level = (end < 0 ? rest : rest[..end]).Trim('"');
        return level switch
        {
            "trace" => LogLevel.Trace,
            "debug" => LogLevel.Debug,
            "warning" or "warn" => LogLevel.Warning,
            "error" => LogLevel.Error,
            "fatal" or "panic" => LogLevel.Critical,
            _ => LogLevel.Information,
        };
    }
}
