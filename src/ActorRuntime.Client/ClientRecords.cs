using ActorRuntime.Tasks;

namespace ActorRuntime.Client;

/// <summary>A container to record: its OCI spec (JSON), the runtime and its options, labels.</summary>
public sealed record NewContainer(
    string Id,
    string SpecJson,
    string Runtime = NewContainer.RuncV2,
    RuntimeOptions? Options = null,
    IReadOnlyDictionary<string, string>? Labels = null)
{
    public const string RuncV2 = "io.containerd.runc.v2";
}

/// <summary>The runtime's options as containerd carries them: an Any (runc's are containerd.runc.v1.Options).</summary>
public sealed record RuntimeOptions(string TypeUrl, byte[] Value);

public sealed record ContainerInfo(
    string Id,
    string SpecJson,
    string Runtime,
    RuntimeOptions? Options,
    IReadOnlyDictionary<string, string> Labels,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

public sealed record RuntimeVersion(string Version, string Revision);

/// <summary>
/// Called with the process's stdio before it starts (moby's attachStdio): the host starts copying here. The streams
/// belong to the <see cref="ProcessIo"/>, which the client disposes when the process is deleted.
/// </summary>
public delegate Task StdioAttach(ProcessIo io, CancellationToken ct);

/// <summary>How to start a container's task.</summary>
/// <param name="WithStdin">make a stdin FIFO (else the process reads /dev/null)</param>
/// <param name="Terminal">a pty: stdout carries it, no stderr; resize with ResizeAsync</param>
/// <param name="Attach">gets the stdio before the start; null = no FIFOs at all (null IO), unless LogPath</param>
/// <param name="LogPath">stdout and stderr to this file, written by the shim (ctr's --log-uri file://); no FIFOs</param>
/// <param name="CheckpointDirectory">restore from this checkpoint image instead of a fresh start</param>
/// <param name="Rootfs">mounts for the rootfs; none = the spec's root.path as it is</param>
public sealed record StartOptions(
    bool WithStdin = false,
    bool Terminal = false,
    StdioAttach? Attach = null,
    string? LogPath = null,
    string? CheckpointDirectory = null,
    IReadOnlyList<MountSpec>? Rootfs = null);

/// <summary>How to run an exec: its OCI process (JSON) and stdio.</summary>
public sealed record ExecOptions(
    string ProcessSpecJson,
    bool WithStdin = false,
    bool Terminal = false,
    StdioAttach? Attach = null);

/// <summary>A started process: its pid and its stdio (null when started with null IO or a log file).</summary>
public sealed record StartedProcess(string ContainerId, string? ExecId, uint Pid, ProcessIo? Io);

public sealed record ExitResult(uint Pid, uint ExitStatus, DateTimeOffset ExitedAt);

public sealed record TaskStatusInfo(string ContainerId, uint Pid, ProcessStatus Status, uint ExitStatus, DateTimeOffset? ExitedAt);

/// <summary>One process of a task (ListPids): pid and, for execs, the exec id.</summary>
public sealed record ProcessSummary(uint Pid, string? ExecId);

/// <summary>cgroup v1 or v2 metrics decoded into one shape (absent figures are 0).</summary>
public sealed record ContainerStats(
    string ContainerId,
    DateTimeOffset Read,
    int CgroupVersion,
    ulong CpuUsageNanos,
    ulong CpuUserNanos,
    ulong CpuSystemNanos,
    ulong MemoryUsageBytes,
    ulong MemoryLimitBytes,
    ulong MemoryCacheBytes,
    ulong PidsCurrent,
    ulong PidsLimit,
    ulong IoReadBytes,
    ulong IoWriteBytes);

public enum ContainerEventKind
{
    Create,
    Start,
    Exit,
    Oom,
    ExecAdded,
    ExecStarted,
    Paused,
    Resumed,
    Delete,
}

/// <summary>
/// A task event as a host sees it, with the offset to resume after. From a cluster, <paramref name="Node"/> names the node
/// whose runtime published it and the offset is its position in the cluster's one stream; null from a single runtime.
/// <paramref name="Reason"/>: set when the cluster published the event for its node instead ("node lost": the node's grace
/// period passed, and its containers were given up); null otherwise.
/// </summary>
public sealed record ContainerEvent(
    long Offset,
    string Namespace,
    ContainerEventKind Kind,
    string ContainerId,
    string? ExecId,
    uint Pid,
    uint ExitStatus,
    DateTimeOffset Timestamp,
    string? Node = null,
    string? Reason = null);

/// <summary>The host's side of the event feed (libcontainerd's backend): called in order per container.</summary>
public interface IContainerEventBackend
{
    Task ProcessEventAsync(ContainerEvent e, CancellationToken ct);
}
