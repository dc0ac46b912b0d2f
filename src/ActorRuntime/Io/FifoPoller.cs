using System.Collections.Concurrent;
using ActorRuntime.Native;

namespace ActorRuntime.Io;

/// <summary>
/// One thread and one epoll set for every FIFO the runtime reads for as long as a process lives (each shim's
/// <c>log</c>), instead of a thread per FIFO waking on a poll timeout. A reader that goes away is taken out at once: the
/// loop is woken through an eventfd, drains what is left, and only then is the reader told it stopped, so its owner
/// closes the fd knowing no read is running on it (closing under a running read could hit a reused fd number).
/// <para>Callbacks run on the loop thread, one at a time: they must be quick and must not block (forwarding a line to a
/// logger is the intended use).</para>
/// <para>A stream that reads or writes at its caller's pace (a process's stdio) uses <see cref="WaitAsync"/> instead: one
/// readiness wait at a time, so a slow caller leaves the bytes in the FIFO and the writer is slowed, nothing dropped.</para>
/// </summary>
internal sealed class FifoPoller : IDisposable
{
    /// <summary>Receives what a registered FIFO delivers; called on the loop thread.</summary>
    public interface ISink
    {
        void OnData(ReadOnlySpan<byte> data);

        /// <summary>Called once, last: after <see cref="Registration.Dispose"/> (null) or a read error.</summary>
        void OnStopped(Exception? error);
    }

    private const int MaxEvents = 64;
    private const int BufferSize = 16 * 1024;
    // Bounds the final drain so a writer that keeps writing cannot hold a removal up.
    private const int MaxDrainReads = 16;
    private const ulong WakeToken = 0;

    private static readonly Lazy<FifoPoller> SharedPoller = new(() => new FifoPoller("fifo-poller"));

    private readonly int _epoll;
    private readonly int _wake;
    private readonly Thread _thread;
    private readonly ConcurrentDictionary<ulong, Registration> _registrations = new();
    private readonly ConcurrentQueue<Registration> _removals = new();
    private readonly ConcurrentDictionary<ulong, Waiter> _waiters = new();
    private readonly ConcurrentQueue<Waiter> _cancelledWaits = new();
    private readonly byte[] _buffer = new byte[BufferSize];
    private long _nextToken = (long)WakeToken;
    private volatile bool _disposed;

    private FifoPoller(string threadName)
    {
        _epoll = Libc.EpollCreate1(Libc.EPOLL_CLOEXEC);
        if (_epoll < 0) throw Libc.Error("epoll_create1", threadName, Libc.LastError);
        _wake = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (_wake < 0) throw Libc.Error("eventfd", threadName, Libc.LastError);
        Control(Libc.EPOLL_CTL_ADD, _wake, WakeToken, threadName);
        _thread = new Thread(Loop) { IsBackground = true, Name = threadName };
        _thread.Start();
    }

    /// <summary>The process's poller, started on first use.</summary>
    public static FifoPoller Shared => SharedPoller.Value;

    /// <summary>A second poller, for specs that need their own.</summary>
    public static FifoPoller CreateIsolated(string name) => new(name);

    /// <summary>
    /// Starts delivering what <paramref name="fd"/> (non-blocking, owned by the caller) can read to
    /// <paramref name="sink"/>. Dispose the registration before closing the fd.
    /// </summary>
    public Registration Register(int fd, string source, ISink sink)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var registration = new Registration(this, fd, (ulong)Interlocked.Increment(ref _nextToken), source, sink);
        _registrations[registration.Token] = registration;
        try
        {
            Control(Libc.EPOLL_CTL_ADD, fd, registration.Token, source);
        }
        catch
        {
            _registrations.TryRemove(registration.Token, out _);
            throw;
        }
        return registration;
    }

    /// <summary>
    /// Completes once <paramref name="fd"/> (non-blocking, owned by the caller) is readable (or its writer hung up) or,
    /// with <paramref name="writable"/>, writable. Cancelling completes it as cancelled once the loop let go of the fd,
    /// so the owner may close the fd as soon as the returned task has completed, whichever way.
    /// </summary>
    public Task WaitAsync(int fd, bool writable, string source, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (ct.IsCancellationRequested) return Task.FromCanceled(ct);
        var waiter = new Waiter(fd, (ulong)Interlocked.Increment(ref _nextToken), source, ct);
        _waiters[waiter.Token] = waiter;
        try
        {
            Control(Libc.EPOLL_CTL_ADD, fd, waiter.Token, source, (writable ? Libc.EPOLLOUT : Libc.EPOLLIN) | Libc.EPOLLONESHOT);
        }
        catch
        {
            _waiters.TryRemove(waiter.Token, out _);
            throw;
        }
        waiter.Cancellation = ct.Register(() =>
        {
            _cancelledWaits.Enqueue(waiter);
            Wake();
        });
        return waiter.Completion.Task;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Wake();
        if (Thread.CurrentThread != _thread) _thread.Join();
        Libc.Close(_wake);
        Libc.Close(_epoll);
    }

    /// <summary>One FIFO on the poller; disposing it takes the FIFO out and returns once the loop let go of it.</summary>
    public sealed class Registration : IDisposable
    {
        private readonly FifoPoller _poller;
        private readonly ManualResetEventSlim _stopped = new();
        private int _removalRequested;

        internal Registration(FifoPoller poller, int fd, ulong token, string source, ISink sink)
        {
            (_poller, Fd, Token, Source, Sink) = (poller, fd, token, source, sink);
        }

        internal int Fd { get; }
        internal ulong Token { get; }
        internal string Source { get; }
        internal ISink Sink { get; }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _removalRequested, 1) == 0)
            {
                if (Thread.CurrentThread == _poller._thread) _poller.Remove(this, drain: true, error: null);
                else
                {
                    _poller._removals.Enqueue(this);
                    _poller.Wake();
                }
            }
            if (Thread.CurrentThread != _poller._thread) _stopped.Wait();
        }

        /// <summary>The loop let go of this FIFO (removed on request, on a read error, or at the poller's end).</summary>
        internal void SignalStopped() => _stopped.Set();
    }

    private unsafe void Wake()
    {
        ulong one = 1;
        // EAGAIN means the counter is already non-zero: the loop will wake anyway.
        Libc.Write(_wake, (byte*)&one, sizeof(ulong));
    }

    /// <summary>One readiness wait: completed (or cancelled) by the loop after it took the fd out of the epoll set.</summary>
    private sealed class Waiter(int fd, ulong token, string source, CancellationToken ct)
    {
        public int Fd { get; } = fd;
        public ulong Token { get; } = token;
        public string Source { get; } = source;
        public CancellationToken CancelledBy { get; } = ct;
        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public CancellationTokenRegistration Cancellation { get; set; }
    }

    private void EndWait(ulong token, Exception? error, bool cancelled)
    {
        if (!_waiters.TryRemove(token, out var waiter)) return; // fired and cancelled at once: the first one won
        try
        {
            Control(Libc.EPOLL_CTL_DEL, waiter.Fd, waiter.Token, waiter.Source, 0);
        }
        catch (Exception e)
        {
            error ??= e;
        }
        waiter.Cancellation.Dispose();
        if (error is not null) waiter.Completion.TrySetException(error);
        else if (cancelled) waiter.Completion.TrySetCanceled(waiter.CancelledBy);
        else waiter.Completion.TrySetResult();
    }

    private unsafe void Control(int op, int fd, ulong token, string source, uint events = Libc.EPOLLIN)
    {
        var evt = stackalloc byte[16];
        *(uint*)evt = events;
        *(ulong*)(evt + Libc.EpollDataOffset) = token;
        if (Libc.EpollCtl(_epoll, op, fd, evt) != 0) throw Libc.Error("epoll_ctl", source, Libc.LastError);
    }

    private unsafe void Loop()
    {
        var events = new byte[MaxEvents * Libc.EpollEventSize];
        while (!_disposed)
        {
            int ready;
            fixed (byte* p = events) ready = Libc.EpollWait(_epoll, p, MaxEvents, -1);
            if (ready < 0)
            {
                if (Libc.LastError == Libc.EINTR) continue;
                throw Libc.Error("epoll_wait", _thread.Name ?? "fifo-poller", Libc.LastError);
            }
            for (var i = 0; i < ready; i++)
            {
                ulong token;
                uint flags;
                fixed (byte* p = &events[i * Libc.EpollEventSize])
                {
                    flags = *(uint*)p;
                    token = *(ulong*)(p + Libc.EpollDataOffset);
                }
                if (token == WakeToken) DrainWake();
                else if (_waiters.ContainsKey(token)) EndWait(token, error: null, cancelled: false);
                else if (_registrations.TryGetValue(token, out var registration))
                {
                    try
                    {
                        ReadOnce(registration, flags);
                    }
                    catch (Exception e)
                    {
                        Remove(registration, drain: false, e); // a failing sink loses its FIFO, never the loop
                    }
                }
            }
            while (_removals.TryDequeue(out var removal)) Remove(removal, drain: true, error: null);
            while (_cancelledWaits.TryDequeue(out var cancelled)) EndWait(cancelled.Token, error: null, cancelled: true);
        }
        foreach (var registration in _registrations.Values) Remove(registration, drain: false, error: null);
        foreach (var token in _waiters.Keys) EndWait(token, new ObjectDisposedException(nameof(FifoPoller)), cancelled: false);
    }

    private unsafe void DrainWake()
    {
        ulong count;
        Libc.Read(_wake, (byte*)&count, sizeof(ulong));
    }

    /// <summary>One read per readiness: level-triggered epoll reports the FIFO again while data is left.</summary>
    private void ReadOnce(Registration registration, uint flags)
    {
        var (count, errno) = Read(registration.Fd);
        if (count > 0)
        {
            registration.Sink.OnData(_buffer.AsSpan(0, count));
            return;
        }
        if (count < 0 && errno is Libc.EAGAIN or Libc.EINTR) return;
        // The owner holds a write end (O_RDWR), so neither EOF nor HUP can happen; if one ever did, stop rather than spin.
        var error = count == 0
            ? new IOException($"unexpected end of {registration.Source} (epoll flags 0x{flags:x})")
            : Libc.Error("read", registration.Source, errno);
        Remove(registration, drain: false, error);
    }

    private void Remove(Registration registration, bool drain, Exception? error)
    {
        if (!_registrations.TryRemove(registration.Token, out _)) return;
        try
        {
            Control(Libc.EPOLL_CTL_DEL, registration.Fd, registration.Token, registration.Source);
            for (var reads = 0; drain && reads < MaxDrainReads; reads++)
            {
                var (count, _) = Read(registration.Fd);
                if (count <= 0) break;
                registration.Sink.OnData(_buffer.AsSpan(0, count));
            }
        }
        catch (Exception e)
        {
            error ??= e;
        }
        try
        {
            registration.Sink.OnStopped(error);
        }
        catch
        {
            // The sink's last word failed; the loop serves every other FIFO and must outlive it.
        }
        finally
        {
            registration.SignalStopped();
        }
    }

    private unsafe (int Count, int Errno) Read(int fd)
    {
        nint count;
        fixed (byte* p = _buffer) count = Libc.Read(fd, p, (nuint)_buffer.Length);
        return count < 0 ? (-1, Libc.LastError) : ((int)count, 0);
    }
}
