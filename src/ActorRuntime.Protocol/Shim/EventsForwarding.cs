using ActorRuntime.Protocol.EventsService;
using ActorRuntime.Protocol.Ttrpc;
using Google.Protobuf.WellKnownTypes;

namespace ActorRuntime.Protocol.Shim;

/// <summary>Server and client sides of Events/Forward, the call shims make at TTRPC_ADDRESS.</summary>
public static class EventsForwarding
{
    /// <summary>Registers a Forward handler; like containerd, it rejects envelopes without topic or timestamp.</summary>
    public static TtrpcServiceRegistry BindForward(this TtrpcServiceRegistry registry,
        Func<Envelope, TtrpcCallContext, Task> onEnvelope) =>
        registry.Register(EventsApi.Service, EventsApi.Forward, ForwardRequest.Parser, async (request, context) =>
        {
            var envelope = request.Envelope ?? throw new InvalidArgumentException("envelope must be set");
            if (string.IsNullOrEmpty(envelope.Topic) || envelope.Topic[0] != '/' || envelope.Topic == "/")
                throw new InvalidArgumentException($"must start with '/' and not be empty: invalid topic {envelope.Topic}");
            if (envelope.Timestamp is null || GoTime.IsZero(envelope.Timestamp))
                throw new InvalidArgumentException("timestamp must be set on forwarded event");
            await onEnvelope(envelope, context).ConfigureAwait(false);
            return new Empty();
        });

    /// <summary>Forwards one envelope with the namespace metadata and 5 s timeout the runc shim uses.</summary>
    public static Task ForwardAsync(this TtrpcClient client, Envelope envelope, CancellationToken ct = default) =>
        client.CallAsync(EventsApi.Service, EventsApi.Forward, new ForwardRequest { Envelope = envelope }, Empty.Parser,
            new CallOptions(TimeSpan.FromSeconds(5),
                [new KeyValuePair<string, string>(EventsApi.NamespaceMetadataKey, envelope.Namespace)]), ct);
}
