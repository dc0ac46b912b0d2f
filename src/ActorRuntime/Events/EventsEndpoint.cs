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
/// so an OOM or a pause forwarded while the bus's writer restarts after a failed journal write is not lost.
/// </summary>
internal sealed class EventsEndpoint : IAsyncDisposable
{
    private readonly TtrpcServer _server;
    private readonly CancellationTokenSource _stopping;

    private EventsEndpoint(TtrpcServer server, CancellationTokenSource stopping)
    {
        _server = server;
        _stopping = stopping;
    }

    public static EventsEndpoint Start(string socketPath, IActorRef eventBus, IActorRef exits, PersistenceBackoff retry, ILogger logger)
    {
        var stopping = new CancellationTokenSource();
        var registry = new TtrpcServiceRegistry().BindForward((envelope, call) =>
        {
            var taskEvent = Translate(envelope);
            if (taskEvent?.Topic == Topics.Exit)
                exits.Tell(new Exits.Exited(ExitWitness.Forwarded(taskEvent)));
            else if (taskEvent?.Topic == Topics.Delete)
                exits.Tell(new Exits.Deleted(ExitWitness.Forwarded(taskEvent)));
            else if (taskEvent is not null)
                _ = AcknowledgedPublish.UntilAcknowledgedAsync(eventBus, taskEvent, Exits.DefaultAckTimeout, retry, stopping.Token);
            else
                logger.LogDebug("ignoring forwarded event {Topic} ({TypeUrl})", envelope.Topic, envelope.Event?.TypeUrl);
            return Task.CompletedTask;
        });
        return new EventsEndpoint(TtrpcServer.Listen(socketPath, registry), stopping);
    }

    /// <summary>Flattens a forwarded envelope; null for events we do not republish.</summary>
    public static TaskEvent? Translate(Envelope envelope)
    {
        if (envelope.Event is null) return null;
        var at = envelope.Timestamp.ToDateTimeOffset();
        var ns = envelope.Namespace;
        return TypeUrls.UnpackTaskEvent(envelope.Event) switch
        {
            TaskCreate e => new TaskEvent(ns, envelope.Topic, e.ContainerId, "", e.Pid, 0, null, at),
            TaskStart e => new TaskEvent(ns, envelope.Topic, e.ContainerId, "", e.Pid, 0, null, at),
            // For the init process TaskExit.id is the container id; ours is empty.
            TaskExit e => new TaskEvent(ns, envelope.Topic, e.ContainerId, e.Id == e.ContainerId ? "" : e.Id, e.Pid,
                e.ExitStatus, GoTime.ToDateTimeOffset(e.ExitedAt), at),
            TaskDelete e => new TaskEvent(ns, envelope.Topic, e.ContainerId, e.Id == e.ContainerId ? "" : e.Id, e.Pid,
                e.ExitStatus, GoTime.ToDateTimeOffset(e.ExitedAt), at),
            TaskOOM e => new TaskEvent(ns, envelope.Topic, e.ContainerId, "", 0, 0, null, at),
            TaskExecAdded e => new TaskEvent(ns, envelope.Topic, e.ContainerId, e.ExecId, 0, 0, null, at),
            TaskExecStarted e => new TaskEvent(ns, envelope.Topic, e.ContainerId, e.ExecId, e.Pid, 0, null, at),
            TaskPaused e => new TaskEvent(ns, envelope.Topic, e.ContainerId, "", 0, 0, null, at),
            TaskResumed e => new TaskEvent(ns, envelope.Topic, e.ContainerId, "", 0, 0, null, at),
            TaskCheckpointed e => new TaskEvent(ns, envelope.Topic, e.ContainerId, "", 0, 0, null, at),
            _ => null,
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _server.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
