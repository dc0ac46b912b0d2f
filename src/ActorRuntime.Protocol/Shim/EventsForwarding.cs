using ActorRuntime.Protocol.EventsService;
using ActorRuntime.Protocol.Ttrpc;
using Google.Protobuf.WellKnownTypes;

namespace ActorRuntime.Protocol.Shim;

/// <summary>Server and client sides of Events/Forward, the call shims make at TTRPC_ADDRESS.</summary>
public static class EventsForwarding
{
    /// <summary>
    /// Registers a Forward handler; like containerd's exchange it rejects (InvalidArgument) envelopes whose namespace is
    /// not a valid identifier, whose topic is empty, lacks the leading '/', is just '/' or has an invalid component, and
    /// whose timestamp is missing or Go's zero time.
    /// </summary>
    public static TtrpcServiceRegistry BindForward(this TtrpcServiceRegistry registry,
        Func<Envelope, TtrpcCallContext, Task> onEnvelope) =>
        registry.Register(EventsApi.Service, EventsApi.Forward, ForwardRequest.Parser, async (request, context) =>
        {
            var envelope = request.Envelope ?? throw new InvalidArgumentException("envelope must be set: invalid argument");
            ValidateEnvelope(envelope);
            await onEnvelope(envelope, context).ConfigureAwait(false);
            return new Empty();
        });

    /// <summary>containerd's events.validateEnvelope, with its messages; throws <see cref="InvalidArgumentException"/>.</summary>
    public static void ValidateEnvelope(Envelope envelope)
    {
        if (ValidateIdentifier(envelope.Namespace) is { } nsError)
            throw new InvalidArgumentException($"event envelope has invalid namespace: {nsError}");
        if (ValidateTopic(envelope.Topic) is { } topicError)
            throw new InvalidArgumentException($"envelope topic \"{envelope.Topic}\": {topicError}");
        // A missing timestamp decodes to Go's zero time in containerd; an explicit empty one is 1970 and passes.
        if (envelope.Timestamp is null || GoTime.IsZero(envelope.Timestamp))
            throw new InvalidArgumentException("timestamp must be set on forwarded event: invalid argument");
    }

    private static string? ValidateTopic(string topic)
    {
        if (topic.Length == 0) return "must not be empty: invalid argument";
        if (topic[0] != '/') return "must start with '/': invalid argument";
        if (topic.Length == 1) return "must have at least one component: invalid argument";
        foreach (var component in topic[1..].Split('/'))
            if (ValidateIdentifier(component) is { } error)
                return $"failed validation on component \"{component}\": {error}";
        return null;
    }

    /// <summary>containerd's identifiers.Validate: null when valid, else the error text.</summary>
    private static string? ValidateIdentifier(string s) => Identifiers.Check(s)?.Message;

    /// <summary>Forwards one envelope with the namespace metadata and 5 s timeout the runc shim uses.</summary>
    public static Task ForwardAsync(this TtrpcClient client, Envelope envelope, CancellationToken ct = default) =>
        client.CallAsync(EventsApi.Service, EventsApi.Forward, new ForwardRequest { Envelope = envelope }, Empty.Parser,
            new CallOptions(TimeSpan.FromSeconds(5),
                [new KeyValuePair<string, string>(EventsApi.NamespaceMetadataKey, envelope.Namespace)]), ct);
}
