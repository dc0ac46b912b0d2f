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
