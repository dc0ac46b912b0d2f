using System.Collections.Concurrent;
using System.Net.Sockets;
using Google.Protobuf;

namespace ActorRuntime.Protocol.Ttrpc;

/// <summary>Per-call settings: a relative deadline sent as timeout_nano and enforced locally, and request metadata.</summary>
public sealed record CallOptions(TimeSpan? Timeout = null, IReadOnlyList<KeyValuePair<string, string>>? Metadata = null)
{
    public static readonly CallOptions Default = new();
}

/// <summary>
/// A ttrpc client over one unix-socket connection. Many calls may be in flight; replies are matched by stream id.
/// When the connection ends (peer closed, I/O error or <see cref="DisposeAsync"/>) every pending call fails with
/// <see cref="TtrpcClosedException"/> and <see cref="Closed"/> completes once.
/// </summary>
public sealed class TtrpcClient : IAsyncDisposable
{
    private readonly FrameChannel _channel;
    private readonly ConcurrentDictionary<uint, TaskCompletionSource<Response>> _pending = new();
    private readonly CancellationTokenSource _shutdown = new();
    private readonly TaskCompletionSource<Exception?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _readLoop;
    private static readonly TimeSpan MaxLocalDeadline = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private long _nextStreamId = -1;
    private int _closing;

    private TtrpcClient(Stream stream)
    {
        _channel = new FrameChannel(stream);
        _readLoop = Task.Run(ReadLoopAsync);
    }

    /// <summary>Completes when the connection is gone; carries the error that ended it, or null for a clean close.</summary>
    public Task<Exception?> Closed => _closed.Task;

    public bool IsClosed => _closed.Task.IsCompleted;

    public static async Task<TtrpcClient> ConnectAsync(string address, CancellationToken ct = default)
    {
        Socket socket;
        try
        {
            socket = await UnixSocket.ConnectAsync(address, ct).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new UnavailableException($"ttrpc: dial {address}: {e.Message}", e);
        }
        return new TtrpcClient(new NetworkStream(socket, ownsSocket: true));
    }

    /// <summary>Wraps an already connected stream (tests, socket pairs).</summary>
    public static TtrpcClient Over(Stream stream) => new(stream);

    public async Task<TResponse> CallAsync<TResponse>(string service, string method, IMessage request,
        MessageParser<TResponse> parser, CallOptions? options = null, CancellationToken ct = default)
        where TResponse : IMessage<TResponse>
    {
        var payload = await CallRawAsync(service, method, request.ToByteString(), options, ct).ConfigureAwait(false);
        try
        {
            return parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new TtrpcException(TtrpcCode.Internal, $"ttrpc: error unmarshalling response of {method}: {e.Message}");
        }
    }

    /// <summary>Sends one request and returns the response payload, or throws the status the peer answered with.</summary>
    public async Task<ByteString> CallRawAsync(string service, string method, ByteString payload,
        CallOptions? options = null, CancellationToken ct = default)
    {
        options ??= CallOptions.Default;
        if (IsClosed) throw new TtrpcClosedException();

        var request = new Request { Service = service, Method = method, Payload = payload };
        var timeout = options.Timeout is { } t && t > TimeSpan.Zero ? t : (TimeSpan?)null;
        if (timeout is { } relative)
            request.TimeoutNano = relative.Ticks > long.MaxValue / 100 ? long.MaxValue : relative.Ticks * 100;
        if (options.Metadata is { } metadata)
            foreach (var (key, value) in metadata)
                request.Metadata.Add(new KeyValue { Key = key.ToLowerInvariant(), Value = value });

        var streamId = (uint)Interlocked.Add(ref _nextStreamId, 2);
        var completion = new TaskCompletionSource<Response>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[streamId] = completion;

        // Timers cannot run longer than ~49 days; a longer deadline is only sent to the server.
        using var deadline = timeout is { } d && d <= MaxLocalDeadline ? new CancellationTokenSource(d) : null;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline?.Token ?? CancellationToken.None);
        try
        {
            // A close that raced with registration must still fail this call.
            if (IsClosed) throw new TtrpcClosedException();
            await _channel.WriteAsync(streamId, MessageType.Request, request.ToByteArray(), linked.Token).ConfigureAwait(false);
            var response = await completion.Task.WaitAsync(linked.Token).ConfigureAwait(false);
            if (response.Status is { Code: not 0 } status)
                throw TtrpcException.FromStatus((TtrpcCode)status.Code, status.Message);
            return response.Payload;
        }
        catch (OperationCanceledException) when (deadline?.IsCancellationRequested == true && !ct.IsCancellationRequested)
        {
            throw new DeadlineExceededException($"ttrpc: {service}/{method}: context deadline exceeded");
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            await CloseAsync(e).ConfigureAwait(false);
            throw new TtrpcClosedException(inner: e);
        }
        finally
        {
            _pending.TryRemove(streamId, out _);
        }
    }

    private async Task ReadLoopAsync()
    {
        Exception? error = null;
        try
        {
            while (!_shutdown.IsCancellationRequested)
            {
                var frame = await _channel.ReadAsync(_shutdown.Token).ConfigureAwait(false);
                if (frame is null) break;
                if (frame.Header.Type != (byte)MessageType.Response) continue;
                if (!_pending.TryGetValue(frame.Header.StreamId, out var completion)) continue;
                if (frame.Oversized)
                {
                    completion.TrySetException(new TtrpcException(TtrpcCode.ResourceExhausted,
                        $"message length {frame.Header.Length} exceed maximum message size of {FrameChannel.MaxMessageSize}"));
                    continue;
                }
                Response response;
                try
                {
                    response = Response.Parser.ParseFrom(frame.Body);
                }
                catch (InvalidProtocolBufferException e)
                {
                    completion.TrySetException(new TtrpcException(TtrpcCode.Internal, $"ttrpc: unmarshal response: {e.Message}"));
                    continue;
                }
                completion.TrySetResult(response);
            }
        }
        catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            error = e;
        }
        await CloseAsync(error).ConfigureAwait(false);
    }

    private async Task CloseAsync(Exception? error)
    {
        if (Interlocked.Exchange(ref _closing, 1) == 1) return;
        _shutdown.Cancel();
        await _channel.DisposeAsync().ConfigureAwait(false);
        // Closed first: whoever sees a call fail with TtrpcClosedException finds the connection closed.
        _closed.TrySetResult(error);
        foreach (var (_, completion) in _pending)
            completion.TrySetException(new TtrpcClosedException(inner: error));
    }

    /// <summary>Orderly close: pending calls fail with <see cref="TtrpcClosedException"/>, <see cref="Closed"/> completes.</summary>
    public async ValueTask DisposeAsync()
    {
        await CloseAsync(null).ConfigureAwait(false);
        try
        {
            await _readLoop.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The read loop reports through Closed; nothing else to surface here.
        }
    }
}
