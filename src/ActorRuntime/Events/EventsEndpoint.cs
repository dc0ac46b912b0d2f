using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Events;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using Envelope = ActorRuntime.Protocol.EventsService.Envelope;

namespace ActorRuntime.Events;

/// <summary>
/// Our side of the shims' Events/Forward: a ttrpc server at their TTRPC_ADDRESS that turns each envelope into a
/// <see cref="TaskEvent"/> for the EventBus — a process's exit and delete through <see cref="Exits"/>, like every other
/// witness of an exit. It answers at once, as containerd does, so shims never retry or stall (a shim's retry would
/// reorder its events). Every other event is sent to the bus until the bus acknowledges it (<see cref="AcknowledgedPublish"/>),
/// so an OOM or a pause forwarded while the bus's writer restarts after a failed journal write is not lost. A client's
/// Publish or Forward to the daemon's Events service enters the same way (<see cref="Offer"/>).
/// </summary>
internal sealed class EventsEndpoint : IAsyncDisposable
{
    private readonly TtrpcServer _server;
    private readonly CancellationTokenSource _stopping;
    private readonly IActorRef _eventBus;
    private readonly IActorRef _exits;
    private readonly PersistenceBackoff _retry;

    private EventsEndpoint(IActorRef eventBus, IActorRef exits, PersistenceBackoff retry, ILogger logger, string socketPath)
    {
        _stopping = new CancellationTokenSource();
        _eventBus = eventBus;
        _exits = exits;
        _retry = retry;
        var registry = new TtrpcServiceRegistry().BindForward((envelope, call) =>
        {
            if (Translate(envelope) is { } taskEvent) Offer(taskEvent);
            else logger.LogDebug("ignoring forwarded event {Topic} ({TypeUrl})", envelope.Topic, envelope.Event?.TypeUrl);
            return Task.CompletedTask;
        });
        _server = TtrpcServer.Listen(socketPath, registry);
    }

    public static EventsEndpoint Start(string socketPath, IActorRef eventBus, IActorRef exits, PersistenceBackoff retry, ILogger logger) =>
        new(eventBus, exits, retry, logger, socketPath);

    /// <summary>
    /// Where a forwarded event enters, from a shim or from a client of the Events service: a task's exit or delete through
    /// <see cref="Exits"/>, anything else (a payload too) to the bus until it acknowledges. Returns at once.
    /// </summary>
    public void Offer(TaskEvent e)
    {
        if (e.Payload is null && e.Topic == Topics.Exit)
            _exits.Tell(new Exits.Exited(ExitWitness.Forwarded(e)));
        else if (e.Payload is null && e.Topic == Topics.Delete)
            _exits.Tell(new Exits.Deleted(ExitWitness.Forwarded(e)));
        else
            _ = AcknowledgedPublish.UntilAcknowledgedAsync(_eventBus, e, Exits.DefaultAckTimeout, _retry, _stopping.Token);
    }

    /// <summary>Flattens a shim's forwarded envelope; null for events we do not republish (a shim sends task events only).</summary>
    public static TaskEvent? Translate(Envelope envelope) =>
        envelope.Event is null
            ? null
            : EventMessages.TaskEventOf(envelope.Namespace, envelope.Topic, envelope.Timestamp.ToDateTimeOffset(), envelope.Event);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _server.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
