namespace ActorRuntime.Store.Contracts;

// What the event bus writes; same rules as ProcessContracts.cs.

/// <summary>"task-event-v1", and the event inside "event-delivered-v1". <paramref name="Offset"/>: the bus's delivery number.</summary>
public sealed record TaskEventV1(
    string Namespace,
    string Topic,
    string ContainerId,
    string ExecId,
    uint Pid,
    uint ExitStatus,
    DateTimeOffset? ExitedAt,
    DateTimeOffset Timestamp,
    long Offset);

public sealed record RunKeyV1(string Namespace, string ContainerId, string ExecId);

public sealed record RunStateV1(
    long RunId,
    uint Pid,
    long InitRunId,
    bool Created,
    bool Started,
    bool Exited,
    bool Deleted,
    DateTimeOffset LastSeen,
    DateTimeOffset? FinishedAt,
    IReadOnlyList<uint> RetiredPids);

/// <summary>"event-delivered-v1"; Key and Run are null for topics that touch no run.</summary>
public sealed record EventDeliveredV1(RunKeyV1? Key, RunStateV1? Run, TaskEventV1 Event);

/// <summary>"runs-forgotten-v1".</summary>
public sealed record RunsForgottenV1(IReadOnlyList<RunKeyV1> Keys);

public sealed record RunEntryV1(RunKeyV1 Key, RunStateV1 Run);

/// <summary>
/// "event-bus-snapshot-v1", read only: RoutedOffset/RoutedLocal were where the bus's read-side stream stood when offsets
/// were the journal's ordering; offsets are the bus's own delivery numbers since v2, so they are dropped on reading.
/// </summary>
public sealed record EventBusSnapshotV1(
    long LastOffset,
    long LastRunId,
    IReadOnlyList<RunEntryV1> Runs,
    long DroppedDuplicates,
    long DroppedStale,
    long RoutedOffset,
    long RoutedLocal);

/// <summary>"event-bus-snapshot-v2": the bus's decision state alone.</summary>
public sealed record EventBusSnapshotV2(
    long LastOffset,
    long LastRunId,
    IReadOnlyList<RunEntryV1> Runs,
    long DroppedDuplicates,
    long DroppedStale);

/// <summary>
/// v2 adds what the bus keeps for exactly-once across restarts: <paramref name="ReleasedAt"/> (the owner forgot the run's
/// record) and the figures of the run's exit (<paramref name="ExitStatus"/>, <paramref name="ExitedAt"/>), which its
/// delete repeats. A v1 run reads as released when it finished (v1 forgot it after the retention) and with no figures.
/// </summary>
public sealed record RunStateV2(
    long RunId,
    uint Pid,
    long InitRunId,
    bool Created,
    bool Started,
    bool Exited,
    bool Deleted,
    DateTimeOffset LastSeen,
    DateTimeOffset? FinishedAt,
    IReadOnlyList<uint> RetiredPids,
    DateTimeOffset? ReleasedAt,
    uint? ExitStatus,
    DateTimeOffset? ExitedAt);

/// <summary>"event-delivered-v2": as v1, with the run as <see cref="RunStateV2"/>.</summary>
public sealed record EventDeliveredV2(RunKeyV1? Key, RunStateV2? Run, TaskEventV1 Event);

public sealed record RunEntryV2(RunKeyV1 Key, RunStateV2 Run);

/// <summary>"event-bus-snapshot-v3": as v2, with runs as <see cref="RunStateV2"/>.</summary>
public sealed record EventBusSnapshotV3(
    long LastOffset,
    long LastRunId,
    IReadOnlyList<RunEntryV2> Runs,
    long DroppedDuplicates,
    long DroppedStale);

public sealed record RunReleasedV1(RunKeyV1 Key, long RunId);

/// <summary>"runs-released-v1": the owner released these runs at <paramref name="At"/>.</summary>
public sealed record RunsReleasedV1(IReadOnlyList<RunReleasedV1> Runs, DateTimeOffset At);

/// <summary>
/// "task-event-v2", and the event inside "event-delivered-v3": v1 plus the payload of an event that is not a task's
/// (<paramref name="PayloadType"/>: the Any's type URL, <paramref name="Payload"/>: its bytes; both null for a task event).
/// A v1 row reads with no payload.
/// </summary>
public sealed record TaskEventV2(
    string Namespace,
    string Topic,
    string ContainerId,
    string ExecId,
    uint Pid,
    uint ExitStatus,
    DateTimeOffset? ExitedAt,
    DateTimeOffset Timestamp,
    long Offset,
    string? PayloadType,
    byte[]? Payload);

/// <summary>"event-delivered-v3": as v2, with the event as <see cref="TaskEventV2"/>.</summary>
public sealed record EventDeliveredV3(RunKeyV1? Key, RunStateV2? Run, TaskEventV2 Event);

/// <summary>"runs-given-up-v1": written by the cluster's fence into a lost node's bus journal (cluster mode).</summary>
public sealed record RunsGivenUpV1(IReadOnlyList<RunKeyV1> Keys, uint ExitStatus, DateTimeOffset At);
