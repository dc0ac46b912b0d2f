using ActorRuntime.Tasks;
using Akka.Actor;

namespace ActorRuntime.Store;

/// <summary>Messages of the <see cref="ProcessStore"/>.</summary>
public static class ProcessStoreProtocol
{
    public interface IProcessStoreCommand;

    /// <summary>
    /// Insert or replace what is known of a task or exec (on create, start, exit, pause, resume). With
    /// <paramref name="WantAck"/> the sender gets <see cref="Recorded"/> once the record is durable.
    /// </summary>
    public sealed record Record(ProcessRecord Task, bool WantAck = false) : IProcessStoreCommand;

    public sealed record Recorded(string ContainerId, string ExecId);

    /// <summary>
    /// The task was deleted: nothing more is owed for it or its execs. With <paramref name="WantAck"/> the sender gets
    /// <see cref="Forgotten"/> once that is durable (at once when there was nothing to forget).
    /// </summary>
    public sealed record Forget(string Namespace, string ContainerId, bool WantAck = false) : IProcessStoreCommand;

    public sealed record Forgotten(string ContainerId);

    /// <summary>The exec was deleted.</summary>
    public sealed record ForgetExec(string Namespace, string ContainerId, string ExecId) : IProcessStoreCommand;

    /// <summary>
    /// The bus wrote the exit of this run (<paramref name="Process"/>, with the figures it published): its stored record,
    /// if it is still that run (same pid), says so from now on (<see cref="ProcessRecord.ExitPublished"/>).
    /// </summary>
    public sealed record ExitPublished(ProcessRecord Process) : IProcessStoreCommand;

    /// <summary>
    /// What this run owed is written: its stored record is forgotten (an init's with its container's execs) if it is still
    /// that run (same pid). For those who settle a record without owning it, and may hear from the bus after the id was
    /// taken again.
    /// </summary>
    public sealed record ForgetRun(ProcessRecord Process) : IProcessStoreCommand;

    public sealed record GetAll : IProcessStoreCommand;

    public sealed record All(IReadOnlyList<ProcessRecord> Tasks);
}

/// <summary>
/// Durable record of the tasks of one namespace (bundle, stdio, pid, status, exit status and time), so a runtime
/// restarted after SIGKILL knows which exits are still owed even when a bundle or shim is gone.
/// <para>Once a record is forgotten (durably), its run is released on the <paramref name="eventBus"/>: nothing of it will
/// be offered again, so the bus, which keeps every finished run until then, may forget it after its retention. Until the
/// release the bus drops any copy a restart offers again, however late (see <see cref="Events.RunState.ReleasedAt"/>).</para>
/// </summary>
public sealed class ProcessStore(string ns, IActorRef? eventBus = null, string? node = null)
    : DurableActor<ProcessStoreState, ProcessStoreProtocol.IProcessStoreCommand, ProcessStoreEvent>(
    // "tasks-<the runtime's namespace>" is what existing databases hold the journal under (from before the store kept
    // every namespace): changing it loses every recorded task.
    // In cluster mode every node writes to the one shared journal under its own id.
    Cluster.ClusterSettings.ScopedPersistenceId("tasks-" + ns, node),
    ProcessStoreState.Empty,
    // Every state change of every process is an event, so the journal is trimmed behind each snapshot.
    new SnapshotPolicy(Every: 200, DeleteCoveredEvents: true))
{
    public static Props Props(string ns, IActorRef? eventBus = null, string? node = null) =>
        Akka.Actor.Props.Create(() => new ProcessStore(ns, eventBus, node));

    protected override Decision<ProcessStoreEvent> Decide(ProcessStoreProtocol.IProcessStoreCommand command) => State.Decide(command);

    protected override void Written(ProcessStoreEvent evt, ProcessStoreState before)
    {
        if (eventBus is null) return;
        var released = before.Forgotten(evt);
        if (released.Count > 0) eventBus.Tell(new Events.EventBusProtocol.Release(released), ActorRefs.NoSender);
    }
}
