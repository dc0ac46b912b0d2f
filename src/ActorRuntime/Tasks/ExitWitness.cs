using ActorRuntime.Events;

namespace ActorRuntime.Tasks;

/// <summary>
/// One account of how a process ended, from whoever saw it; offered to <see cref="Exits"/>, which decides what enters the
/// bus. <paramref name="ExitPublished"/>: the process record says the bus already wrote this run's exit (maybe before a
/// restart, long enough ago for the bus to have forgotten the run), so only a delete may still enter.
/// </summary>
public sealed record ExitWitness(
    ExitWitness.Source From,
    string Namespace,
    string ContainerId,
    string ExecId,
    uint Pid,
    uint ExitStatus,
    DateTimeOffset? ExitedAt,
    DateTimeOffset Timestamp,
    bool ExitPublished = false)
{
    public enum Source
    {
        /// <summary>The shim's own /tasks/exit or /tasks/delete, through the EventsEndpoint.</summary>
        Forwarded,

        /// <summary>Our Wait on the shim returned.</summary>
        Waited,

        /// <summary>The shim's reply to Delete (init or exec).</summary>
        DeleteResponse,

        /// <summary>The shim's State, read when a task is reloaded or an exec re-attached after a restart.</summary>
        Observed,

        /// <summary>The shim no longer knows a recorded exec: its status is unknown.</summary>
        Lost,

        /// <summary>Dead-shim cleanup, for a task whose shim died.</summary>
        DeadShim,

        /// <summary>A record recovered after a restart whose bundle and shim are gone.</summary>
        Settled,
    }

    /// <summary>Our side is done with the run: nothing more of it will come from us (of an init's, once it brings the delete).</summary>
    public bool EndsRun => From is Source.DeleteResponse or Source.Lost or Source.DeadShim or Source.Settled;

    public static ExitWitness Forwarded(TaskEvent e) =>
        new(Source.Forwarded, e.Namespace, e.ContainerId, e.ExecId, e.Pid, e.ExitStatus, e.ExitedAt, e.Timestamp);

    /// <summary>The exit a record holds (seen by our Wait, or read from the shim's State).</summary>
    public static ExitWitness Recorded(Source from, ProcessRecord r) =>
        new(from, r.Namespace, r.ContainerId, r.ExecId, r.Pid, r.ExitStatus, r.ExitedAt ?? DateTimeOffset.UtcNow, DateTimeOffset.UtcNow,
            r.ExitPublished);

    /// <summary>The shim's Delete reply; once the record's exit is on the bus, the delete repeats that exit's figures.</summary>
    public static ExitWitness Deleted(ProcessRecord r, TaskProtocol.Exited deleted) =>
        r.ExitPublished && r.HasExited
            ? Recorded(Source.DeleteResponse, r)
            : new(Source.DeleteResponse, r.Namespace, r.ContainerId, r.ExecId, deleted.Pid, deleted.ExitStatus, deleted.ExitedAt,
                DateTimeOffset.UtcNow, r.ExitPublished);

    /// <summary>
    /// For a witness that has to make the status up because the shim can no longer tell: the record's real exit when
    /// it holds one, else these figures (the record's pid when <paramref name="pid"/> is unknown).
    /// </summary>
    public static ExitWitness Unsure(Source from, ProcessRecord r, uint pid, uint status, DateTimeOffset exitedAt) =>
        r.HasExited
            ? Recorded(from, r)
            : new(from, r.Namespace, r.ContainerId, r.ExecId, pid == 0 ? r.Pid : pid, status, exitedAt, DateTimeOffset.UtcNow,
                r.ExitPublished);

    public TaskEvent ToEvent(string topic) => new(Namespace, topic, ContainerId, ExecId, Pid, ExitStatus, ExitedAt, Timestamp);
}
