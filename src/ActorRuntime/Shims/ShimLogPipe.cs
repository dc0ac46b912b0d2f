using System.Text;
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
public sealed class ShimLogPipe : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);
    private const int BufferSize = 16 * 1024;
    private const int MaxLineLength = 64 * 1024;
    // Bounds the final drain so a shim that keeps writing cannot hold Dispose up.
    private const int MaxDrainReadsAfterStop = 16;

    private readonly int _fd;
    private readonly ILogger _logger;
    private readonly string _source;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _readLoop;
    private readonly List<byte> _partialLine = [];
    private int _disposed;

    private ShimLogPipe(int fd, ILogger logger, string source)
    {
        _fd = fd;
        _logger = logger;
        _source = source;
        // LongRunning: a dedicated thread that spends its life in poll(); it must not occupy a pool thread.
        _readLoop = Task.Factory.StartNew(ReadLoop, CancellationToken.None, TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
    }

    /// <summary>Completes when the reader stopped (after <see cref="Dispose"/>, or on a read error).</summary>
    public Task Completion => _readLoop;

    /// <summary>Opens the bundle's <c>log</c> FIFO; throws <see cref="IOException"/> if it is missing or not a FIFO.</summary>
    public static ShimLogPipe Open(Bundle bundle, ILogger logger) =>
        Open(bundle.LogFifoPath, logger, $"{bundle.Namespace}/{bundle.Id}");

    public static ShimLogPipe Open(string fifoPath, ILogger logger, string source)
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
        return new ShimLogPipe(fd, logger, source);
    }

    /// <summary>True when <paramref name="path"/> itself (not a symlink to one) is a FIFO.</summary>
    public static bool IsFifo(string path) => Libc.FileTypeOf(path) == Libc.S_IFIFO;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stop.Cancel();
        // The loop wakes at the latest one poll interval later, drains a bounded amount, then exits. Only then is the
        // fd closed: closing it under a running poll()/read() could hit a reused fd number.
        _readLoop.Wait();
        Libc.Close(_fd);
        _stop.Dispose();
    }

    private unsafe void ReadLoop()
    {
        var buffer = new byte[BufferSize];
        var drainReads = 0;
        try
        {
            while (true)
            {
                var stopping = _stop.IsCancellationRequested;
                if (stopping && drainReads++ >= MaxDrainReadsAfterStop) break;
                var pollFd = new Libc.PollFd { Fd = _fd, Events = Libc.POLLIN };
                var ready = Libc.Poll(&pollFd, 1, stopping ? 0 : (int)PollInterval.TotalMilliseconds);
                if (ready < 0)
                {
                    if (Libc.LastError == Libc.EINTR) continue;
                    throw Libc.Error("poll", _source, Libc.LastError);
                }
                if (ready == 0 || (pollFd.Revents & Libc.POLLIN) == 0)
                {
                    if (stopping) break;
                    // POLLHUP cannot occur while we hold a write end ourselves; if it ever did, stop rather than spin.
                    if ((pollFd.Revents & (Libc.POLLERR | Libc.POLLNVAL | Libc.POLLHUP)) != 0)
                        throw new IOException($"poll on shim log of {_source}: revents 0x{pollFd.Revents:x}");
                    continue;
                }

                nint count;
                fixed (byte* p = buffer) count = Libc.Read(_fd, p, (nuint)buffer.Length);
                if (count < 0)
                {
                    var errno = Libc.LastError;
                    if (errno is Libc.EAGAIN or Libc.EINTR) continue;
                    throw Libc.Error("read", _source, errno);
                }
                if (count == 0) // EOF cannot happen while we hold a write end ourselves; never spin on it
                    throw new IOException($"unexpected end of the shim log of {_source}");
                Consume(buffer.AsSpan(0, (int)count));
            }
            FlushPartialLine();
        }
        catch (Exception e)
        {
            _logger.LogError(e, "shim log reader for {Source} stopped", _source);
        }
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
