namespace ActorRuntime.Tasks;

/// <summary>
/// What a task or exec actor knows about its process. Immutable; changed only by the pure functions below so the actor
/// just sequences shim calls and applies their results. Kept durable in the <see cref="Store.ProcessStore"/>.
/// <para><b>The one owner of "exit owed":</b> a task whose init record is in the store is owed its exit and its delete
/// on the bus (and each started exec's record, its exit). The task actor writes it (durably) before it answers Create
/// and forgets it once the bus has acknowledged writing the delete it handed to <see cref="Exits"/>; dead-shim cleanup
/// and the settling of records after a restart look it up, publish what it says is owed (its real exit when
/// <see cref="HasExited"/>) and forget it once the bus has written that. A record whose events the bus did not confirm
/// stays, and the next start settles it (the bus drops what it already has). Nothing else — no bundle on disk, no
/// list in the ShimManager — says whether an exit is owed, so a shim that failed to start or died after its task was
/// deleted is cleaned up without a word on the bus.</para>
/// <para><see cref="ExitPublished"/>: the bus has acknowledged writing this run's exit. The bus forgets a run some
/// minutes after it ends, so only this durable flag keeps a restart from publishing the exit again; what is still owed
/// then is the delete alone (and, for an exec, nothing).</para>
/// </summary>
public sealed record ProcessRecord(
    string Namespace,
    string ContainerId,
    string ExecId,
    string Bundle,
    Stdio Stdio,
    uint Pid = 0,
    ProcessStatus Status = ProcessStatus.Unknown,
    uint ExitStatus = 0,
    DateTimeOffset? ExitedAt = null,
    bool ExitPublished = false)
{
    public bool HasExited => Status == ProcessStatus.Stopped && ExitedAt is not null;

    /// <summary>The process ran (an init once created, an exec once started): only a run ends with an exit.</summary>
    public bool HasRun => Pid != 0 || HasExited;

    /// <summary>Its exit has yet to reach the bus.</summary>
    public bool ExitOwed => HasRun && !ExitPublished;

    /// <summary>The bus wrote the exit of this run, with <paramref name="published"/>'s figures if this record has none.</summary>
    public ProcessRecord PublishedExit(ProcessRecord published) =>
        (HasExited || !published.HasExited ? this : Exited(published.ExitStatus, published.ExitedAt!.Value)) with { ExitPublished = true };

    /// <summary>Two records of the same run (told apart by pid; 0, not yet known, matches any).</summary>
    public bool SameRun(ProcessRecord other) =>
        Namespace == other.Namespace && ContainerId == other.ContainerId && ExecId == other.ExecId &&
        (Pid == 0 || other.Pid == 0 || Pid == other.Pid);

    /// <summary>
    /// The shim's view of a reloaded task (this), with what only our side knows from <paramref name="stored"/>: whether
    /// the run's exit is already on the bus.
    /// </summary>
    public ProcessRecord Reloaded(ProcessRecord? stored) =>
        stored is not null && stored.ExitPublished && SameRun(stored) ? PublishedExit(stored) : this;

    public ProcessRecord Created(uint pid) => this with { Pid = pid, Status = ProcessStatus.Created };

    public ProcessRecord Started(uint pid) => this with { Pid = pid, Status = ProcessStatus.Running };

    public ProcessRecord Exited(uint status, DateTimeOffset at) =>
        this with { Status = ProcessStatus.Stopped, ExitStatus = status, ExitedAt = at };

    public ProcessRecord Paused() => this with { Status = ProcessStatus.Paused };

    public ProcessRecord Resumed() => this with { Status = ProcessStatus.Running };

    /// <summary>The shim's view wins when we (re)learn state from it, e.g. after a reload.</summary>
    public ProcessRecord Observed(uint pid, ProcessStatus status, uint exitStatus, DateTimeOffset? exitedAt) =>
        this with { Pid = pid == 0 ? Pid : pid, Status = status, ExitStatus = exitStatus, ExitedAt = exitedAt ?? ExitedAt };

    public TaskProtocol.ProcessState ToState() =>
        new(ContainerId, ExecId, Pid, Status, ExitStatus, ExitedAt, Bundle, Stdio);

    public TaskProtocol.Exited ToExited() => new(ContainerId, ExecId, Pid, ExitStatus, ExitedAt ?? DateTimeOffset.MinValue);
}
