using System.Collections.Immutable;

namespace ActorRuntime.Events;

/// <summary>One process slot: a container's init process (ExecId "") or one of its execs.</summary>
public sealed record RunKey(string Namespace, string ContainerId, string ExecId)
{
    public static RunKey Of(TaskEvent e) => new(e.Namespace, e.ContainerId, e.ExecId);

    public bool IsInit => ExecId.Length == 0;

    public RunKey InitKey => IsInit ? this : new RunKey(Namespace, ContainerId, "");

    public override string ToString() => IsInit ? $"{Namespace}/{ContainerId}" : $"{Namespace}/{ContainerId}/{ExecId}";
}

/// <summary>
/// Bookkeeping for the current run of a <see cref="RunKey"/>.
/// <paramref name="RunId"/> is the bus-wide run counter; <paramref name="InitRunId"/> ties an exec run to the init run that
/// was current when the exec run began (0 for init runs or when unknown); <paramref name="Created"/> is false for a run
/// begun implicitly by a later event; <paramref name="FinishedAt"/> is when the run became forgettable (init: delete;
/// exec: exit or delete); <paramref name="RetiredPids"/> are the pids of this key's previous runs (newest last), so a
/// late event of an earlier run is recognised as stale even when the current pid is not known yet.
/// </summary>
public sealed record RunState(
    long RunId,
    uint Pid,
    long InitRunId,
    bool Created,
    bool Started,
    bool Exited,
    bool Deleted,
    DateTimeOffset LastSeen,
    DateTimeOffset? FinishedAt,
    ImmutableList<uint> RetiredPids);

/// <summary>Limits for keeping <see cref="EventBusState"/> bounded.</summary>
/// <param name="RetainFinishedRunsFor">
/// How long a finished run (init deleted, exec exited) is remembered. Trade-off: while remembered, a late duplicate
/// exit/delete of that run is dropped; after that, the same late duplicate is taken for the first event of a new, implicit
/// run and is delivered again. It must comfortably exceed the longest re-send window (containerd's shim publisher retries
/// for about 15 s; dead-shim cleanup runs within the shim cleanup timeout); memory is one small record per run.
/// </param>
/// <param name="MaxTrackedRuns">Hard cap; past it the oldest finished runs go first, then the least recently seen.</param>
/// <param name="MaxRetiredPids">How many previous-run pids a key remembers for stale detection.</param>
public sealed record RunRetention(TimeSpan RetainFinishedRunsFor, int MaxTrackedRuns = 100_000, int MaxRetiredPids = 8)
{
    public static readonly RunRetention Default = new(TimeSpan.FromMinutes(10));
}
