using System.Net.Sockets;
using System.Text;
using ActorRuntime.Protocol.Ttrpc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ActorRuntime.Tests.Protocol;

/// <summary>Helpers shared by the protocol specs: hex/ASCII byte builders, a temp socket dir, raw connections.</summary>
internal static class Wire
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    /// <summary>Concatenates parts: hex ("0a 17 ...") or, when wrapped in single quotes, ASCII text ("'Connect'").</summary>
    public static byte[] B(params string[] parts)
    {
        var bytes = new List<byte>();
        foreach (var part in parts)
        {
            if (part.Length >= 2 && part[0] == '\'' && part[^1] == '\'')
                bytes.AddRange(Encoding.ASCII.GetBytes(part[1..^1]));
            else
                bytes.AddRange(Convert.FromHexString(part.Replace(" ", "")));
        }
        return [.. bytes];
    }

    public static byte[] Frame(uint streamId, byte type, byte[] body, byte flags = 0)
    {
        var frame = new byte[FrameHeader.Size + body.Length];
        new FrameHeader((uint)body.Length, streamId, type, flags).Write(frame);
        body.CopyTo(frame, FrameHeader.Size);
        return frame;
    }

    public static byte[] RequestFrame(uint streamId, string service, string method, IMessage payload, long timeoutNano = 0) =>
        Frame(streamId, 1, new Request
        {
            Service = service, Method = method, Payload = payload.ToByteString(), TimeoutNano = timeoutNano,
        }.ToByteArray());
}

/// <summary>A short-lived directory for unix sockets (paths must stay under 108 bytes).</summary>
internal sealed class TempSocketDir : IDisposable
{
    public TempSocketDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ttrpc-" + Guid.NewGuid().ToString("N")[..12]);

    public string Socket(string name = "s.sock") => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A raw client connection: writes arbitrary bytes and reads frames with bounded waits.</summary>
internal sealed class RawConnection : IAsyncDisposable
{
    private readonly FrameChannel _channel;

    private RawConnection(Socket socket)
    {
        Socket = socket;
        _channel = new FrameChannel(new NetworkStream(socket, ownsSocket: true));
    }

    public Socket Socket { get; }

    public static async Task<RawConnection> ConnectAsync(string path)
    {
        var socket = await UnixSocket.ConnectAsync(path, CancellationToken.None).WaitAsync(Wire.Bound);
        return new RawConnection(socket);
    }

    public static RawConnection Over(Socket socket) => new(socket);

    public Task SendAsync(byte[] bytes) => _channel.WriteRawAsync(bytes, CancellationToken.None).WaitAsync(Wire.Bound);

    /// <summary>Next frame, or null at end of stream; fails the test (TimeoutException) if nothing comes in time.</summary>
    public async Task<Frame?> ReadFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Wire.Bound);
        try
        {
            return await _channel.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException("no frame within the bound");
        }
    }

    /// <summary>Reads the next frame and decodes it as a Response.</summary>
    public async Task<(Frame Frame, Response Response)> ReadResponseAsync()
    {
        var frame = await ReadFrameAsync() ?? throw new EndOfStreamException("connection closed instead of a response");
        Assert.Equal((byte)MessageType.Response, frame.Header.Type);
        return (frame, Response.Parser.ParseFrom(frame.Body));
    }

    /// <summary>True when the peer closes the connection (reads EOF or an error) within the bound, no frame first.</summary>
    public async Task<bool> ClosedByPeerAsync()
    {
        try
        {
            return await ReadFrameAsync() is null;
        }
        catch (IOException)
        {
            return true;
        }
    }

    public ValueTask DisposeAsync() => _channel.DisposeAsync();
}

/// <summary>
/// A registry for the generic test service used by the transport specs. Methods use well-known types so no extra
/// .proto is needed.
/// </summary>
internal sealed class TestService
{
    public const string Name = "test.v1.Probe";

    /// <summary>Handlers waiting in <c>Hang</c>; set as each one starts.</summary>
    public readonly List<TaskCompletionSource<TtrpcCallContext>> HangStarted = [];

    public readonly TaskCompletionSource<bool> HangTokenCancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public readonly Dictionary<int, TaskCompletionSource> Gates = [];

    public readonly ManualResetEventSlim BlockRelease = new(false);

    public int Calls;

    public TtrpcServiceRegistry Registry { get; }

    public TestService()
    {
        Registry = new TtrpcServiceRegistry()
            .Register(Name, "Echo", StringValue.Parser, (r, _) => Count(Task.FromResult(r)))
            .Register(Name, "Empty", Empty.Parser, (r, _) => Count(Task.FromResult(r)))
            .Register(Name, "Gate", Int32Value.Parser, async (r, _) =>
            {
                Interlocked.Increment(ref Calls);
                TaskCompletionSource gate;
                lock (Gates) gate = Gates[r.Value];
                await gate.Task.WaitAsync(Wire.Bound);
                return r;
            })
            .Register(Name, "Block", Empty.Parser, (r, _) =>
            {
                // Blocks synchronously before any await, like a careless handler.
                BlockRelease.Wait(Wire.Bound);
                return Task.FromResult(r);
            })
            .Register(Name, "Hang", Empty.Parser, async (r, c) =>
            {
                Interlocked.Increment(ref Calls);
                TaskCompletionSource<TtrpcCallContext> started = new(TaskCreationOptions.RunContinuationsAsynchronously);
                lock (HangStarted) HangStarted.Add(started);
                started.SetResult(c);
                try
                {
                    await Task.Delay(Timeout.Infinite, c.CancellationToken);
                }
                catch (OperationCanceledException)
                {
                    HangTokenCancelled.TrySetResult(true);
                    throw;
                }
                return r;
            })
            .Register(Name, "Drop", StringValue.Parser, (r, c) =>
            {
                // The call takes effect (it returns), then the connection goes instead of the reply.
                c.DropConnectionInsteadOfReplying();
                return Task.FromResult(r);
            })
            .Register(Name, "Metadata", Empty.Parser, (_, c) => Task.FromResult(new StringValue
            {
                Value = string.Join(";", c.Metadata.Select(kv => $"{kv.Key}={kv.Value}")),
            }))
            .Register(Name, "Throw", StringValue.Parser, (r, _) => Task.FromException<Empty>(ErrorFor(r.Value)))
            .Register(Name, "Big", Int32Value.Parser, (r, _) =>
                Task.FromResult(new BytesValue { Value = ByteString.CopyFrom(new byte[r.Value]) }));
    }

    private Task<T> Count<T>(Task<T> t)
    {
        Interlocked.Increment(ref Calls);
        return t;
    }

    /// <summary>"Code:message" → the typed exception a handler would throw; "plain:message" → a non-ttrpc exception.</summary>
    public static Exception ErrorFor(string spec)
    {
        var colon = spec.IndexOf(':');
        var (kind, message) = (spec[..colon], spec[(colon + 1)..]);
        return kind switch
        {
            "plain" => new InvalidOperationException(message),
            _ => TtrpcException.FromStatus(System.Enum.Parse<TtrpcCode>(kind), message),
        };
    }

    public async Task<TtrpcCallContext> WaitHangStartedAsync(int index)
    {
        Task<TtrpcCallContext>? started = null;
        await EventuallyAsync(() =>
        {
            lock (HangStarted)
                if (HangStarted.Count > index) started = HangStarted[index].Task;
            return started is not null;
        }, $"Hang call {index} to start", Wire.Bound);
        return await started!.WaitAsync(Wire.Bound);
    }
}

/// <summary>A <see cref="TtrpcServer"/> on a temp socket with the test service, plus client/raw connection helpers.</summary>
internal sealed class ServerHarness : IAsyncDisposable
{
    private readonly TempSocketDir _dir = new();
    private readonly List<IAsyncDisposable> _owned = [];

    public ServerHarness(TtrpcServiceRegistry? registry = null)
    {
        Service = new TestService();
        Server = TtrpcServer.Listen(_dir.Socket(), registry ?? Service.Registry);
    }

    public TestService Service { get; }

    public TtrpcServer Server { get; }

    public async Task<TtrpcClient> ConnectAsync()
    {
        var client = await TtrpcClient.ConnectAsync(Server.Address).WaitAsync(Wire.Bound);
        _owned.Add(client);
        return client;
    }

    public async Task<RawConnection> RawAsync()
    {
        var raw = await RawConnection.ConnectAsync(Server.SocketPath);
        _owned.Add(raw);
        return raw;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in _owned) await owned.DisposeAsync();
        await Server.DisposeAsync().AsTask().WaitAsync(Wire.Bound);
        _dir.Dispose();
    }
}
