namespace ActorRuntime.Store.Contracts;

// What the process store writes. Shapes and (camelCase) names are the stored format: never rename a member here; a
// different shape is a new record under a new manifest (…-v2) with an upcast from this one in RuntimeFormats.

/// <summary>A task's or exec's record as stored. <paramref name="Status"/> is the number v1 wrote (see RuntimeFormats).</summary>
public sealed record ProcessRecordV1(
    string Namespace,
    string ContainerId,
    string ExecId,
    string Bundle,
    StdioV1 Stdio,
    uint Pid,
    int Status,
    uint ExitStatus,
    DateTimeOffset? ExitedAt);

public sealed record StdioV1(string Stdin, string Stdout, string Stderr, bool Terminal);

/// <summary>"task-recorded-v1".</summary>
public sealed record TaskRecordedV1(ProcessRecordV1 Task);

/// <summary>"task-forgotten-v1".</summary>
public sealed record TaskForgottenV1(string Namespace, string ContainerId);

/// <summary>"exec-forgotten-v1".</summary>
public sealed record ExecForgottenV1(string Namespace, string ContainerId, string ExecId);

/// <summary>"task-registry-snapshot-v1" (the store's old name lives on in the manifest).</summary>
public sealed record ProcessStoreSnapshotV1(IReadOnlyList<ProcessRecordV1> Tasks);
