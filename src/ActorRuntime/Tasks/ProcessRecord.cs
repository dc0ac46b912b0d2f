using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Shims;
using ActorRuntime.Store;
namespace ActorRuntime.Tasks;

/// <summary>
/// What a task actor knows about its process. Immutable; changed only by the pure functions below so the actor
/// just sequences shim calls and applies their results.
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
