namespace ActorRuntime.Store.Contracts;

// What the process store writes. Shapes and (camelCase) names are the stored format: never rename a member here; a
// different shape is a new record under a new manifest (…-v2) with an upcast from this one in RuntimeFormats.

/// <summary>
/// A task's or exec's record as v1 stored it (read only). <paramref name="Status"/> is the number v1 wrote (see
/// RuntimeFormats). Its strings and stdio are read as nullable: the code that wrote v1 rows did not keep nulls out, and
/// one such row must not stop a store's recovery (they upcast to empty).
/// </summary>
public sealed record ProcessRecordV1(
    string? Namespace,
    string? ContainerId,
    string? ExecId,
    string? Bundle,
    StdioV1? Stdio,
    uint Pid,
    int Status,
    uint ExitStatus,
    DateTimeOffset? ExitedAt);

public sealed record StdioV1(string? Stdin, string? Stdout, string? Stderr, bool Terminal);

/// <summary>"task-recorded-v1" (read only).</summary>
public sealed record TaskRecordedV1(ProcessRecordV1 Task);

/// <summary>
/// v2 adds <paramref name="ExitPublished"/>: the bus acknowledged writing the run's exit. <paramref name="Status"/> keeps
/// v1's numbering.
/// </summary>
public sealed record ProcessRecordV2(
    string Namespace,
    string ContainerId,
    string ExecId,
    string Bundle,
    StdioV2 Stdio,
    uint Pid,
    int Status,
    uint ExitStatus,
    DateTimeOffset? ExitedAt,
    bool ExitPublished);

public sealed record StdioV2(string Stdin, string Stdout, string Stderr, bool Terminal);

/// <summary>"task-recorded-v2".</summary>
public sealed record TaskRecordedV2(ProcessRecordV2 Task);

/// <summary>"task-forgotten-v1".</summary>
public sealed record TaskForgottenV1(string Namespace, string ContainerId);

/// <summary>"exec-forgotten-v1".</summary>
public sealed record ExecForgottenV1(string Namespace, string ContainerId, string ExecId);

/// <summary>"task-registry-snapshot-v1" (read only; the store's old name lives on in the manifest).</summary>
public sealed record ProcessStoreSnapshotV1(IReadOnlyList<ProcessRecordV1> Tasks);

/// <summary>"task-registry-snapshot-v2".</summary>
public sealed record ProcessStoreSnapshotV2(IReadOnlyList<ProcessRecordV2> Tasks);
