using System.Collections.Concurrent;
using System.Net.Sockets;
using Google.Protobuf;

namespace ActorRuntime.Protocol.Ttrpc;

/// <summary>What a handler sees of its call: metadata, the deadline-bound token and the stream id.</summary>
public sealed record TtrpcCallContext(
    string Service,
    string Method,
    uint StreamId,
    IReadOnlyList<KeyValue> Metadata,
    CancellationToken CancellationToken)
{
    private int _drop;

    public string? GetMetadata(string key) =>
        Metadata.LastOrDefault(kv => string.Equals(kv.Key, key, StringComparison.OrdinalIgnoreCase))?.Value;

    /// <summary>
    /// Fault injection: when the handler ends (returns or throws), the connection this call came in on closes and no
    /// reply is sent, as when a server dies in the middle of a call. Other calls on that connection end unanswered too.
    /// </summary>
    public void DropConnectionInsteadOfReplying() => Interlocked.Exchange(ref _drop, 1);

    internal bool DropRequested => Volatile.Read(ref _drop) == 1;
}

/// <summary>Handler registry keyed by (service, method), as ttrpc addresses methods.</summary>
public sealed class TtrpcServiceRegistry
{
    internal delegate Task<ByteString> RawHandler(ByteString payload, TtrpcCallContext context);

    private readonly Dictionary<string, Dictionary<string, RawHandler>> _services = new(StringComparer.Ordinal);

    public TtrpcServiceRegistry Register<TRequest, TResponse>(string service, string method,
        MessageParser<TRequest> parser, Func<TRequest, TtrpcCallContext, Task<TResponse>> handler)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        if (!_services.TryGetValue(service, out var methods))
            _services[service] = methods = new Dictionary<string, RawHandler>(StringComparer.Ordinal);
        methods[method] = async (payload, context) =>
        {
            TRequest request;
            try
            {
                request = parser.ParseFrom(payload);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new TtrpcException(TtrpcCode.Internal, $"ttrpc: error unmarshalling payload: {e.Message}");
            }
            var response = await handler(request, context).ConfigureAwait(false);
            return response.ToByteString();
        };
        return this;
    }

    internal RawHandler Resolve(string service, string method)
    {
        if (!_services.TryGetValue(service, out var methods))
            throw new UnimplementedException($"service {service}");
        if (!methods.TryGetValue(method, out var handler))
            throw new UnimplementedException($"method {method}");
        return handler;
    }
}

/// <summary>
/// A ttrpc server on a unix socket. Each connection reads requests in order and runs them concurrently;
/// bad input gets the status the Go server (ttrpc v1.1.1) gives and never ends the connection.
/// </summary>
public sealed class TtrpcServer : IAsyncDisposable
{
    private static readonly TimeSpan MaxDeadline = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly TtrpcServiceRegistry _registry;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly ConcurrentDictionary<FrameChannel, Task> _connections = new();
    private readonly Task _acceptLoop;

    private TtrpcServer(TtrpcServiceRegistry registry, Socket listener, string path)
    {
        _registry = registry;
        _listener = listener;
        SocketPath = path;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public string SocketPath { get; }

    public string Address => UnixSocket.Scheme + SocketPath;

    /// <summary>Binds <paramref name="socketPath"/> (a stale socket file is replaced) and starts serving.</summary>
    public static TtrpcServer Listen(string socketPath, TtrpcServiceRegistry registry)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(socketPath)!);
        if (File.Exists(socketPath)) File.Delete(socketPath);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(socketPath));
            listener.Listen(128);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        return new TtrpcServer(registry, listener, socketPath);
    }

    /// <summary>Serves one already connected stream (tests, socket pairs).</summary>
    public static Task ServeStreamAsync(Stream stream, TtrpcServiceRegistry registry, CancellationToken ct) =>
        ServeConnectionAsync(new FrameChannel(stream), registry, ct);

    private async Task AcceptLoopAsync()
    {
        while (!_shutdown.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_shutdown.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_shutdown.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            var channel = new FrameChannel(new NetworkStream(socket, ownsSocket: true));
            _connections[channel] = Task.Run(async () =>
            {
                try
                {
                    await ServeConnectionAsync(channel, _registry, _shutdown.Token).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // One connection's failure never reaches the server.
                }
                finally
                {
                    _connections.TryRemove(channel, out _);
                }
            });
        }
    }

    private static async Task ServeConnectionAsync(FrameChannel channel, TtrpcServiceRegistry registry, CancellationToken ct)
    {
        var inFlight = new ConcurrentDictionary<Task, byte>();
        using var connectionGone = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            while (!connectionGone.IsCancellationRequested)
            {
                var frame = await channel.ReadAsync(connectionGone.Token).ConfigureAwait(false);
                if (frame is null) break;
                var header = frame.Header;
                if (frame.Oversized)
                {
                    await ReplyAsync(channel, header.StreamId, new TtrpcException(TtrpcCode.ResourceExhausted,
                        $"message length {header.Length} exceed maximum message size of {FrameChannel.MaxMessageSize}"),
                        connectionGone.Token).ConfigureAwait(false);
                    continue;
                }
                if (header.Type != (byte)MessageType.Request) continue;
                if (header.StreamId % 2 == 0)
                {
                    await ReplyAsync(channel, header.StreamId, new InvalidArgumentException(
                        "StreamID must be odd for client initiated streams"), connectionGone.Token).ConfigureAwait(false);
                    continue;
                }
                // Off the read loop: a handler that blocks before its first await must not stall the connection.
                var streamId = header.StreamId;
                var body = frame.Body;
                var handling = Task.Run(() => HandleAsync(channel, registry, streamId, body, connectionGone), CancellationToken.None);
                inFlight[handling] = 0;
                _ = handling.ContinueWith(t => inFlight.TryRemove(t, out _), CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
        catch (Exception) when (connectionGone.IsCancellationRequested)
        {
        }
        catch (Exception)
        {
            // Truncated frame, reset or a failed reply: the connection is unusable, close it (never the server).
        }
        finally
        {
            connectionGone.Cancel();
            try
            {
                await Task.WhenAll(inFlight.Keys).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Handlers report through their responses.
            }
            await channel.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task HandleAsync(FrameChannel channel, TtrpcServiceRegistry registry, uint streamId,
        byte[] body, CancellationTokenSource connection)
    {
        var connectionToken = connection.Token;
        Request request;
        try
        {
            request = Request.Parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException e)
        {
            await ReplyAsync(channel, streamId, new InvalidArgumentException($"unmarshal request error: {e.Message}"),
                connectionToken).ConfigureAwait(false);
            return;
        }

        // Timers cannot run longer than ~49 days; a longer timeout_nano is as good as none.
        using var deadline = request.TimeoutNano > 0 && request.TimeoutNano / 100 <= MaxDeadline.Ticks
            ? new CancellationTokenSource(TimeSpan.FromTicks(Math.Max(1, request.TimeoutNano / 100)))
            : null;
        using var callToken = CancellationTokenSource.CreateLinkedTokenSource(connectionToken,
            deadline?.Token ?? CancellationToken.None);
        var context = new TtrpcCallContext(request.Service, request.Method, streamId, request.Metadata, callToken.Token);
        Response response;
        try
        {
            var handler = registry.Resolve(request.Service, request.Method);
            var payload = await handler(request.Payload, context).WaitAsync(callToken.Token).ConfigureAwait(false);
            response = new Response { Payload = payload };
        }
        catch (OperationCanceledException) when (deadline?.IsCancellationRequested == true)
        {
            response = new Response { Status = new DeadlineExceededException("context deadline exceeded").ToStatus() };
        }
        catch (OperationCanceledException) when (connectionToken.IsCancellationRequested)
        {
            return;
        }
        catch (TtrpcException e)
        {
            response = new Response { Status = e.ToStatus() };
        }
        catch (Exception e)
        {
            response = new Response { Status = new Rpc.Status { Code = (int)TtrpcCode.Unknown, Message = e.Message } };
        }
        if (context.DropRequested)
        {
            // Ends the read loop, which closes the connection once the calls in flight are over.
            connection.Cancel();
            return;
        }

        var responseBody = response.ToByteArray();
        if (responseBody.Length > FrameChannel.MaxMessageSize)
        {
            // Too big to send: tell the client instead of leaving its call pending forever.
            responseBody = new Response
            {
                Status = new TtrpcException(TtrpcCode.ResourceExhausted,
                    $"message length {responseBody.Length} exceed maximum message size of {FrameChannel.MaxMessageSize}").ToStatus(),
            }.ToByteArray();
        }
        try
        {
            await channel.WriteAsync(streamId, MessageType.Response, responseBody, connectionToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The client went away; nothing to answer.
        }
    }

    private static async Task ReplyAsync(FrameChannel channel, uint streamId, TtrpcException error, CancellationToken ct)
    {
        var response = new Response { Status = error.ToStatus() };
        await channel.WriteAsync(streamId, MessageType.Response, response.ToByteArray(), ct).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_shutdown.IsCancellationRequested) return;
        _shutdown.Cancel();
        _listener.Dispose();
        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Accept loop ends by cancellation.
        }
        await Task.WhenAll(_connections.Values).ConfigureAwait(false);
        try
        {
            File.Delete(SocketPath);
        }
        catch (IOException)
        {
        }
    }
}
