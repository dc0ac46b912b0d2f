using ActorRuntime.Protocol.Ttrpc;

namespace ActorRuntime.Tasks;

/// <summary>Routing: every runtime command names the container it is for (the shim/task actor's id).</summary>
public interface IWithContainerId
{
    string ContainerId { get; }
}

/// <summary>Commands that change a process's lifecycle; a task or exec actor runs them one at a time.</summary>
public interface ILifecycleCommand : IWithContainerId;

/// <summary>Read-only queries; answered concurrently with lifecycle commands.</summary>
public interface IQueryCommand : IWithContainerId;

/// <summary>Commands addressed to one exec process of a container.</summary>
public interface IWithExecId : IWithContainerId
{
    string ExecId { get; }
}

public enum ProcessStatus
{
    Unknown = 0,
    Created = 1,
    Running = 2,
    Stopped = 3,
    Paused = 4,
    Pausing = 5,
}

/// <summary>A rootfs mount for Create (containerd.types.Mount).</summary>
public sealed record MountSpec(string Type, string Source, IReadOnlyList<string> Options);

/// <summary>stdio paths as the shim takes them: empty = null IO, else a FIFO or file path.</summary>
public sealed record Stdio(string Stdin = "", string Stdout = "", string Stderr = "", bool Terminal = false)
{
    public static readonly Stdio Null = new();
}

/// <summary>The task API as messages (the Shape: one actor per task, one per exec; mailbox-serialized).</summary>
public static class TaskProtocol
{
    /// <summary>
    /// How every task command reaches the ShimManager: in the namespace it acts in. The manager routes it to the
    /// shim actor of (namespace, container id), which gets the command itself.
    /// </summary>
    public sealed record InNamespace(string Namespace, IWithContainerId Command);

    // ---- container (init process) commands ----

    /// <summary>
    /// Creates the task. <paramref name="RuntimeOptions"/>: the container's runtime options as an encoded Any (runc's
    /// Options: IoUid/IoGid, runc root, binary...), given to the shim's Create as containerd does; null = the runtime's.
    /// </summary>
    public sealed record Create(
        string ContainerId,
        string SpecJson,
        IReadOnlyList<MountSpec> Rootfs,
        Stdio Stdio,
        string? Checkpoint = null,
        byte[]? RuntimeOptions = null) : ILifecycleCommand;

    public sealed record Start(string ContainerId) : ILifecycleCommand;

    public sealed record Kill(string ContainerId, uint Signal, bool All = false) : ILifecycleCommand;

    public sealed record Pause(string ContainerId) : ILifecycleCommand;

    public sealed record Resume(string ContainerId) : ILifecycleCommand;

    public sealed record ResizePty(string ContainerId, uint Width, uint Height) : ILifecycleCommand;

    public sealed record CloseIO(string ContainerId, bool Stdin = true) : ILifecycleCommand;

    public sealed record Checkpoint(string ContainerId, CheckpointOptions Options) : ILifecycleCommand;

    /// <summary>Resources as the JSON of OCI LinuxResources.</summary>
    public sealed record Update(string ContainerId, string ResourcesJson, IReadOnlyDictionary<string, string>? Annotations = null)
        : ILifecycleCommand;

    public sealed record Delete(string ContainerId) : ILifecycleCommand;

    /// <summary>Ends the shim if it hosts nothing else; sent by Delete, exposed for completeness.</summary>
    public sealed record Shutdown(string ContainerId, bool Now = false) : ILifecycleCommand;

    public sealed record Wait(string ContainerId) : IQueryCommand;

    public sealed record State(string ContainerId) : IQueryCommand;

    public sealed record Pids(string ContainerId) : IQueryCommand;

    public sealed record Stats(string ContainerId) : IQueryCommand;

    // ---- exec commands ----
    /// <summary>SpecJson: the JSON of an OCI Process.</summary>
    public sealed record Exec(string ContainerId, string ExecId, string SpecJson, Stdio Stdio) : ILifecycleCommand, IWithExecId;

    public sealed record StartExec(string ContainerId, string ExecId) : ILifecycleCommand, IWithExecId;

    public sealed record KillExec(string ContainerId, string ExecId, uint Signal) : ILifecycleCommand, IWithExecId;

    public sealed record ResizeExecPty(string ContainerId, string ExecId, uint Width, uint Height) : ILifecycleCommand, IWithExecId;

    public sealed record CloseExecIO(string ContainerId, string ExecId, bool Stdin = true) : ILifecycleCommand, IWithExecId;

    public sealed record DeleteExec(string ContainerId, string ExecId) : ILifecycleCommand, IWithExecId;

    public sealed record WaitExec(string ContainerId, string ExecId) : IQueryCommand, IWithExecId;

    public sealed record ExecState(string ContainerId, string ExecId) : IQueryCommand, IWithExecId;

    /// <summary>
    /// The InvalidArgument error for the first id of <paramref name="command"/> that breaks containerd's rule (its
    /// container id, then its exec id), or null. Checked before an id reaches an actor name, a lookup or a path.
    /// </summary>
    public static InvalidArgumentException? CheckIds(IWithContainerId command) =>
        Identifiers.Check(command.ContainerId, "container id")
        ?? (command is IWithExecId exec ? Identifiers.Check(exec.ExecId, "exec id") : null);

    /// <summary>The same for a command in its namespace, the namespace first (no command: InvalidArgument too).</summary>
    public static InvalidArgumentException? CheckIds(InNamespace envelope) =>
        Identifiers.Check(envelope.Namespace, "namespace")
        ?? (envelope.Command is null ? new InvalidArgumentException("no command: invalid argument") : CheckIds(envelope.Command));

    // ---- replies ----
    public sealed record Created(string ContainerId, uint Pid);

    public sealed record Started(string ContainerId, string ExecId, uint Pid);

    /// <summary>Success of a command whose shim reply is Empty.</summary>
    public sealed record Done(string ContainerId, string ExecId);

    public sealed record Exited(string ContainerId, string ExecId, uint Pid, uint ExitStatus, DateTimeOffset ExitedAt);

    public sealed record ProcessState(
        string ContainerId,
        string ExecId,
        uint Pid,
        ProcessStatus Status,
        uint ExitStatus,
        DateTimeOffset? ExitedAt,
        string Bundle,
        Stdio Stdio);

    public sealed record ProcessEntry(uint Pid, string ExecId);

    public sealed record PidList(string ContainerId, IReadOnlyList<ProcessEntry> Processes);

    /// <summary>cgroup statistics (cgroup v1 Metrics, decoded); Raw keeps the shim's Any for anything not decoded.</summary>
    public sealed record StatsResult(
        string ContainerId,
        ulong CpuUsageNanos,
        ulong MemoryUsageBytes,
        ulong MemoryLimitBytes,
        ulong PidsCurrent,
        string TypeUrl,
        byte[] Raw);

    /// <summary>Failure reply: a typed error from the shim or the runtime (code as containerd uses it).</summary>
    public sealed record Failed(string ContainerId, TtrpcCode Code, string Message)
    {
        public TtrpcException ToException() => TtrpcException.FromStatus(Code, Message);

        /// <summary>The reply a caller gets for any exception of a shim call or of the runtime.</summary>
        public static Failed From(string containerId, Exception e) => e switch
        {
            TtrpcClosedException => ConnectionLost(containerId),
            TtrpcException t => new Failed(containerId, t.Code, t.Message),
            TaskCanceledException or OperationCanceledException => new Failed(containerId, TtrpcCode.Canceled, e.Message),
            AggregateException { InnerException: { } inner } => From(containerId, inner),
            _ => new Failed(containerId, TtrpcCode.Unknown, e.Message),
        };

        public static Failed NotFound(string containerId) =>
            new(containerId, TtrpcCode.NotFound, $"task {containerId}: not found");

        /// <summary>An exec id the task does not know (containerd's words).</summary>
        public static Failed NoSuchProcess(string containerId, string execId) =>
            new(containerId, TtrpcCode.NotFound, $"process does not exist {execId}: not found");

        /// <summary>The shim's connection went before it answered (containerd: ttrpc.ErrClosed, Unavailable).</summary>
        public static Failed ConnectionLost(string containerId) =>
            new(containerId, TtrpcCode.Unavailable, $"task {containerId}: shim connection lost before it answered");

        public static Failed AlreadyExists(string containerId) =>
            new(containerId, TtrpcCode.AlreadyExists, $"task {containerId}: already exists");
    }
}
