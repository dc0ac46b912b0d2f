using ActorRuntime.Native;

namespace ActorRuntime.Io;

/// <summary>
/// One end of a process's stdio FIFO as a Stream that moves bytes at its caller's pace: a read or write that cannot
/// proceed waits on the shared <see cref="FifoPoller"/> (no thread per FIFO), so a slow reader leaves the bytes in the
/// FIFO and slows the process's writes, nothing dropped. Opening never blocks, whether or not the shim has its end open.
/// </summary>
public sealed class FifoStream : Stream
{
    private readonly bool _write;
    private readonly string _path;
    private readonly FifoPoller _poller;
    private readonly CancellationTokenSource _closing = new();
    private Task _pendingWait = Task.CompletedTask;
    private int _fd;
    private int _disposed;

    private FifoStream(int fd, bool write, string path, FifoPoller poller)
    {
        (_fd, _write, _path, _poller) = (fd, write, path, poller);
    }

    /// <summary>Reads what the shim writes; ends when the shim closes its write end.</summary>
    public static FifoStream OpenRead(string path) =>
        new(OpenOrThrow(path, Libc.O_RDONLY), write: false, path, FifoPoller.Shared);

    /// <summary>
    /// Writes what the process reads. Opened read-write: write-only would fail (ENXIO) until the shim opened its read
    /// end; this end never reads. Disposing it is the end of our input, and the shim's stdin closes only on CloseIO.
    /// </summary>
    public static FifoStream OpenWrite(string path) =>
        new(OpenOrThrow(path, Libc.O_RDWR), write: true, path, FifoPoller.Shared);

    /// <summary>Completed when this stream is disposed (for a stdin stream: the caller has closed its input).</summary>
    public Task Closed => _closedSignal.Task;

    private readonly TaskCompletionSource _closedSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override bool CanRead => !_write && _disposed == 0;
    public override bool CanWrite => _write && _disposed == 0;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        if (_write) throw new NotSupportedException("a stdin FIFO is written, not read");
        if (buffer.IsEmpty) return 0;
        var waited = false;
        while (true)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            var (count, errno) = Transfer(buffer.Span, write: false);
            if (count > 0) return count;
            // 0 before any readiness is "no writer yet" (the shim opens its end later); after a readiness it is the end,
            // because Linux reports a FIFO ready with no writer only once a writer has come and gone.
            if (count == 0 && waited) return 0;
            if (count < 0 && errno is not (Libc.EAGAIN or Libc.EINTR)) throw Libc.Error("read", _path, errno);
            await WaitAsync(writable: false, ct);
            waited = true;
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
    {
        if (!_write) throw new NotSupportedException("a stdout or stderr FIFO is read, not written");
        while (!buffer.IsEmpty)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            var (count, errno) = Transfer(MemoryMarshalSpan(buffer), write: true);
            if (count > 0)
            {
                buffer = buffer[count..];
                continue;
            }
            if (errno is not (Libc.EAGAIN or Libc.EINTR)) throw Libc.Error("write", _path, errno);
            await WaitAsync(writable: true, ct);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task FlushAsync(CancellationToken ct) => Task.CompletedTask;

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _closing.CancelAsync();
        // The poller lets go of the fd before a cancelled wait completes; closing earlier could hit a reused fd number.
        await _pendingWait.ContinueWith(static _ => { }, TaskScheduler.Default);
        CloseFd();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _closing.Cancel();
            _pendingWait.ContinueWith(static _ => { }, TaskScheduler.Default).Wait();
            CloseFd();
        }
        base.Dispose(disposing);
    }

    private void CloseFd()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) Libc.Close(fd);
        _closing.Dispose();
        _closedSignal.TrySetResult();
    }

    private async Task WaitAsync(bool writable, CancellationToken ct)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _closing.Token);
        var wait = _poller.WaitAsync(_fd, writable, _path, linked.Token);
        _pendingWait = wait;
        try
        {
            await wait;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new ObjectDisposedException(nameof(FifoStream), $"{_path} was closed");
        }
    }

    private unsafe (int Count, int Errno) Transfer(Span<byte> buffer, bool write)
    {
        nint count;
        fixed (byte* p = buffer)
            count = write ? Libc.Write(_fd, p, (nuint)buffer.Length) : Libc.Read(_fd, p, (nuint)buffer.Length);
        return count < 0 ? (-1, Libc.LastError) : ((int)count, 0);
    }

    private static Span<byte> MemoryMarshalSpan(ReadOnlyMemory<byte> buffer) =>
        System.Runtime.InteropServices.MemoryMarshal.AsMemory(buffer).Span;

    private static int OpenOrThrow(string path, int access)
    {
        var fd = Libc.Open(path, access | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        if (fd < 0) throw Libc.Error("open", path, Libc.LastError);
        return fd;
    }
}
