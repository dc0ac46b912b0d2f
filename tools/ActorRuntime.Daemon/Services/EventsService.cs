using System.Threading.Channels;
using ActorRuntime.Events;
using ActorRuntime.Hosting;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Api.Events;
using ActorRuntime.Protocol.Ttrpc;
using Akka.Actor;
using Status = Grpc.Core.Status;
using Envelope = ActorRuntime.Protocol.Api.Events.Envelope;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace ActorRuntime.Daemon.Services;

/// <summary>
/// containerd.services.events.v1.Events over the runtime's EventBus. Subscribe is one bus subscription per stream, with
/// the client's filters (containerd's syntax, parsed by the bus; none: every namespace's events), ended when the client
/// cancels. Publish and Forward enter the bus the way a shim's forwarded event does (<see cref="ContainerRuntime.OfferEventAsync"/>).
/// </summary>
internal sealed class EventsService(ContainerRuntime runtime, EventBusSettings bus, StartupReplay replay)
    : ActorRuntime.Protocol.Api.Events.Events.EventsBase
{
    /// <summary>
    /// Every matching event, as containerd's envelope with the bare type URL and our bus offset (a field containerd's
    /// clients skip); with <see cref="EventOffsets.AfterOffsetHeader"/>, the journal's events after that offset first.
    /// The bus's callback only queues into a buffer of the bus's own per-subscriber limit (<see cref="EventBusSettings.MaxQueuedPerSubscriber"/>); a client that falls
    /// that far behind is dropped (ResourceExhausted, so dockerd re-subscribes) rather than let the daemon's memory grow.
    /// Order is the bus's offset order per container; events of different containers may interleave out of offset order
    /// (the bus runs a backend's containers in parallel). A stream opened just after the daemon began serving first gets
    /// what the bus published since the daemon started (<see cref="StartupReplay"/>).
    /// </summary>
    public override async Task Subscribe(SubscribeRequest request, IServerStreamWriter<Envelope> responseStream, ServerCallContext context)
    {
        if (runtime.Cluster is { } cluster)
        {
            await SubscribeClusterAsync(cluster, request, responseStream, context);
            return;
        }
        var buffer = Channel.CreateBounded<TaskEvent>(new BoundedChannelOptions(Math.Max(1, bus.MaxQueuedPerSubscriber))
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        Task Deliver(TaskEvent e)
        {
            if (!buffer.Writer.TryWrite(e))
                buffer.Writer.TryComplete(new RpcException(new Status(StatusCode.ResourceExhausted,
                    $"subscriber fell more than {bus.MaxQueuedPerSubscriber} events behind")));
            return Task.CompletedTask;
        }
        void Cancelled(EventBusProtocol.SubscriptionCancelled c) =>
            buffer.Writer.TryComplete(new RpcException(new Status(StatusCode.Unavailable, $"subscription ended: {c.Reason}")));

        var filters = request.Filters.ToList();
        EventBusProtocol.ISubscriptionCommand subscribe = (AfterOffset(context.RequestHeaders) ?? replay.ReplayAfter()) is { } after
            ? new EventBusProtocol.SubscribeBackendFrom(after, filters, Deliver, Cancelled)
            : new EventBusProtocol.SubscribeBackend(filters, Deliver, Cancelled);
        var subscribed = await runtime.EventBus.Ask<EventBusProtocol.Subscribed>(subscribe, runtime.Settings.CallTimeout,
            context.CancellationToken);
        try
        {
            await foreach (var e in buffer.Reader.ReadAllAsync(context.CancellationToken))
                await responseStream.WriteAsync(ToEnvelope(e), context.CancellationToken);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The client went away: what it cancelled is over, nothing to report.
        }
        catch (ChannelClosedException closed) when (closed.InnerException is RpcException rpc)
        {
            throw rpc;
        }
        finally
        {
            // Not the call's token: it is cancelled by now, and the subscription must end all the same.
            runtime.EventBus.Tell(new EventBusProtocol.Unsubscribe(subscribed.SubscriptionId));
        }
    }

    /// <summary>
    /// In cluster mode one stream for the whole cluster: every node's events merged from the shared journal, each naming
    /// its node, with the cluster-wide position as its offset, so a subscriber resumes after the last one it handled
    /// whichever node restarted. Without an offset it starts at the journal's end now, as containerd's Subscribe starts now.
    /// </summary>
    private static async Task SubscribeClusterAsync(ActorRuntime.Cluster.ClusterNode cluster, SubscribeRequest request,
        IServerStreamWriter<Envelope> responseStream, ServerCallContext context)
    {
        var filter = EventFilter.ParseAll(request.Filters);
        var after = AfterOffset(context.RequestHeaders) ?? await cluster.EventsEndAsync(context.CancellationToken);
        try
        {
            await foreach (var e in cluster.EventsAfter(after).WithCancellation(context.CancellationToken))
            {
                if (!filter.Matches(e.Event)) continue;
                var envelope = ToEnvelope(e.Event with { Offset = e.Position });
                envelope.ActorruntimeNode = e.Node;
                envelope.ActorruntimeReason = e.Reason ?? "";
                await responseStream.WriteAsync(envelope, context.CancellationToken);
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    /// <summary>
    /// Our extension: a host that recorded the offset of the last event it handled resumes after it (replay, then live),
    /// whatever the startup window. Absent: containerd's behaviour. Not a number ≥ 0: InvalidArgument naming it.
    /// </summary>
    private static long? AfterOffset(Metadata headers)
    {
        if (headers.FirstOrDefault(e => e.Key == EventOffsets.AfterOffsetHeader && !e.IsBinary)?.Value is not { } text) return null;
        return long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var after)
            ? after
            : throw new InvalidArgumentException($"{EventOffsets.AfterOffsetHeader} \"{text}\" is not an event offset (a whole number, 0 or more): invalid argument");
    }

    /// <summary>containerd's Publish: the namespace from the header, the topic checked, stamped now.</summary>
    public override async Task<Empty> Publish(PublishRequest request, ServerCallContext context)
    {
        var ns = RequestNamespace.Of(context);
        CheckTopic(request.Topic);
        var any = request.Event ?? throw new InvalidArgumentException("event must be set: invalid argument");
        await runtime.OfferEventAsync(EventMessages.Of(ns, request.Topic, DateTimeOffset.UtcNow, any), context.CancellationToken);
        return new Empty();
    }

    /// <summary>containerd's Forward: the envelope as sent, its namespace, topic and timestamp checked.</summary>
    public override async Task<Empty> Forward(ForwardRequest request, ServerCallContext context)
    {
        var envelope = request.Envelope ?? throw new InvalidArgumentException("envelope must be set: invalid argument");
        if (Identifiers.Check(envelope.Namespace, "namespace") is { } invalid)
            throw new InvalidArgumentException($"event envelope has invalid namespace: {invalid.Message}");
        CheckTopic(envelope.Topic);
        if (GoTime.IsZero(envelope.Timestamp))
            throw new InvalidArgumentException("timestamp must be set on forwarded event: invalid argument");
        var any = envelope.Event ?? throw new InvalidArgumentException("event must be set: invalid argument");
        await runtime.OfferEventAsync(EventMessages.Of(envelope.Namespace, envelope.Topic, envelope.Timestamp.ToDateTimeOffset(), any),
            context.CancellationToken);
        return new Empty();
    }

    public static Envelope ToEnvelope(TaskEvent e) => new()
    {
        Timestamp = Timestamp.FromDateTimeOffset(e.Timestamp),
        Namespace = e.Namespace,
        Topic = e.Topic,
        Event = EventMessages.ToAny(e),
        ActorruntimeOffset = e.Offset,
    };

    /// <summary>containerd's topic rule: "/" then one or more identifiers separated by "/"; InvalidArgument naming the topic.</summary>
    private static void CheckTopic(string topic)
    {
        string? problem = topic.Length == 0 ? "must not be empty"
            : topic[0] != '/' ? "must start with '/'"
            : topic.Length == 1 ? "must have at least one component"
            : topic[1..].Split('/').Select(c => Identifiers.Check(c, "identifier") is { } bad
                ? $"failed validation on component \"{c}\": {bad.Message[..^": invalid argument".Length]}"
                : null).FirstOrDefault(p => p is not null);
        if (problem is not null)
            throw new InvalidArgumentException($"envelope topic \"{topic}\": {problem}: invalid argument");
    }
}
