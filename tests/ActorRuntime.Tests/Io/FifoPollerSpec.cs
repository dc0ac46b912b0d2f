using System.Collections.Concurrent;
using System.Text;
using ActorRuntime.Io;
using ActorRuntime.Native;

namespace ActorRuntime.Tests.Io;

public sealed class FifoPollerSpec : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fifopoller-" + Guid.NewGuid().ToString("N"));
    private readonly FifoPoller _poller = FifoPoller.CreateIsolated("fifo-poller-spec");

    public FifoPollerSpec() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        _poller.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task One_thread_delivers_every_fifo_its_own_bytes_in_order()
    {
        var fifos = Enumerable.Range(0, 40).Select(i => OpenFifo($"f{i}")).ToList();
        var sinks = fifos.Select(_ => new RecordingSink()).ToList();
        var registrations = fifos.Select((f, i) => _poller.Register(f.Fd, f.Path, sinks[i])).ToList();

        for (var round = 0; round < 3; round++)
            for (var i = 0; i < fifos.Count; i++)
                await File.AppendAllTextAsync(fifos[i].Path, $"{i}:{round};");

        await EventuallyAsync(() => sinks.All(s => s.Text.Split(';', StringSplitOptions.RemoveEmptyEntries).Length == 3),
            "every FIFO's three writes", TimeSpan.FromSeconds(10));
        for (var i = 0; i < fifos.Count; i++) Assert.Equal($"{i}:0;{i}:1;{i}:2;", sinks[i].Text);
        Assert.All(sinks, s => Assert.Single(s.Threads));
        Assert.Single(sinks.SelectMany(s => s.Threads).Distinct());

        foreach (var r in registrations) r.Dispose();
        Assert.All(sinks, s => Assert.Equal(1, s.StoppedCount));
        foreach (var f in fifos) Libc.Close(f.Fd);
    }

    [Fact]
    public async Task Removal_drains_what_was_written_before_it_and_returns_without_waiting_for_a_timeout()
    {
        var fifo = OpenFifo("drain");
        var sink = new RecordingSink();
        var registration = _poller.Register(fifo.Fd, fifo.Path, sink);
        await File.AppendAllTextAsync(fifo.Path, "last words");

        registration.Dispose(); // returns once the loop let go of the fd: nothing reads it after this line
        Assert.Contains("last words", sink.Text);
        Assert.Equal(1, sink.StoppedCount);
        Assert.Null(sink.Error);
        registration.Dispose(); // twice is harmless
        Assert.Equal(1, sink.StoppedCount);
        Libc.Close(fifo.Fd);
    }

    [Fact]
    public async Task A_sink_that_throws_loses_its_own_fifo_and_the_others_carry_on()
    {
        var bad = OpenFifo("bad");
        var good = OpenFifo("good");
        var badSink = new RecordingSink { ThrowOnData = true };
        var goodSink = new RecordingSink();
        using var badRegistration = _poller.Register(bad.Fd, bad.Path, badSink);
        using var goodRegistration = _poller.Register(good.Fd, good.Path, goodSink);

        await File.AppendAllTextAsync(bad.Path, "boom");
        await EventuallyAsync(() => badSink.StoppedCount == 1, "the failing sink to be stopped", TimeSpan.FromSeconds(10));
        Assert.IsType<InvalidOperationException>(badSink.Error);

        await File.AppendAllTextAsync(good.Path, "still here");
        await EventuallyAsync(() => goodSink.Text == "still here", "the other FIFO's bytes", TimeSpan.FromSeconds(10));
        Assert.Equal(0, goodSink.StoppedCount);
        badRegistration.Dispose();
        goodRegistration.Dispose();
        Libc.Close(bad.Fd);
        Libc.Close(good.Fd);
    }

    [Fact]
    public void Disposing_the_poller_stops_every_reader_once()
    {
        using var poller = FifoPoller.CreateIsolated("fifo-poller-dispose");
        var fifo = OpenFifo("end");
        var sink = new RecordingSink();
        var registration = poller.Register(fifo.Fd, fifo.Path, sink);

        poller.Dispose();
        Assert.Equal(1, sink.StoppedCount);
        registration.Dispose(); // after the poller is gone: returns at once
        Assert.Equal(1, sink.StoppedCount);
        Assert.Throws<ObjectDisposedException>(() => poller.Register(fifo.Fd, fifo.Path, new RecordingSink()));
        Libc.Close(fifo.Fd);
    }

    private (string Path, int Fd) OpenFifo(string name)
    {
        var path = Path.Combine(_dir, name);
        Assert.Equal(0, Libc.MkFifo(path, 0x180));
        var fd = Libc.Open(path, Libc.O_RDWR | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        Assert.True(fd >= 0, $"open {path}: errno {Libc.LastError}");
        return (path, fd);
    }

    private sealed class RecordingSink : FifoPoller.ISink
    {
        private readonly StringBuilder _text = new();
        private int _stopped;

        public bool ThrowOnData { get; init; }
        public ConcurrentBag<int> Threads { get; } = [];
        public Exception? Error { get; private set; }
        public int StoppedCount => Volatile.Read(ref _stopped);

        public string Text
        {
            get { lock (_text) return _text.ToString(); }
        }

        public void OnData(ReadOnlySpan<byte> data)
        {
            if (ThrowOnData) throw new InvalidOperationException("sink failed");
            if (!Threads.Contains(Environment.CurrentManagedThreadId)) Threads.Add(Environment.CurrentManagedThreadId);
            lock (_text) _text.Append(Encoding.UTF8.GetString(data));
        }

        public void OnStopped(Exception? error)
        {
            Error = error;
            Interlocked.Increment(ref _stopped);
        }
    }
}
