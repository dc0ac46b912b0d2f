using ActorRuntime.Protocol;
using ActorRuntime.Protocol.EventsService;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Protocol.Ttrpc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ActorRuntime.TestKit;

/// <summary>
/// A fake shim's Events/Forward client, as the runc shim does it: connected lazily, one connection, namespace metadata,
/// bare type URLs, one event at a time; optionally every event twice.
/// </summary>
internal sealed class FakeShimEvents(string ns, string eventsAddress) : IAsyncDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private TtrpcClient? _client;
    private volatile bool _closed;

    /// <summary>Every event is sent twice (as a shim retrying after a lost reply would).</summary>
    public bool ForwardTwice { get; set; }

    public async Task ForwardAsync(string topic, IMessage message)
    {
        var envelope = new Envelope
        {
            Timestamp = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), Namespace = ns, Topic = topic,
            Event = TypeUrls.Pack(message),
        };
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            for (var copy = 0; copy < (ForwardTwice ? 2 : 1) && !_closed; copy++)
            {
                try
                {
                    if (_client is null || _client.IsClosed) _client = await TtrpcClient.ConnectAsync(eventsAddress);
                    await _client.ForwardAsync(envelope);
                }
                catch (TtrpcException)
                {
                    // The runc shim retries later and eventually drops; the runtime must not depend on any one forward.
                }
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Closes the connection at once, cutting off a forward in flight (the shim died); nothing is sent after this.</summary>
    public async ValueTask DisposeAsync()
    {
        _closed = true;
        if (_client is { } client) await client.DisposeAsync().ConfigureAwait(false);
    }
}
