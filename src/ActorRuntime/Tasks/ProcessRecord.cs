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
    DateTimeOffset? ExitedAt = null)
{
    public bool HasExited => Status == ProcessStatus.Stopped && ExitedAt is not null;

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
