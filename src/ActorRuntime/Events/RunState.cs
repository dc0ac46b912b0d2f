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
/// <para><paramref name="ReleasedAt"/>: when the run's owner (the process store, on forgetting the run's record) said
/// nothing of the run will be offered again. Until then a finished run is kept however old (see
/// <see cref="RunRetention"/>): its owner may still offer its exit or delete again after a restart, and only this state
/// can say they are in. <paramref name="ExitStatus"/> and <paramref name="ExitedAt"/>: the figures of the exit delivered
/// (null while none is, or for runs journaled before they were kept), which the run's delete repeats.</para>
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
    ImmutableList<uint> RetiredPids,
    DateTimeOffset? ReleasedAt = null,
    uint? ExitStatus = null,
    DateTimeOffset? ExitedAt = null);

/// <summary>The owner of a run's record is done with it (see <see cref="RunState.ReleasedAt"/>); pid 0 matches any run.</summary>
public sealed record RunRelease(RunKey Key, uint Pid);

/// <summary>Limits for keeping <see cref="EventBusState"/> bounded.</summary>
/// <param name="RetainFinishedRunsFor">
/// How long a finished run (init deleted, exec exited) is remembered once its owner has released it. Trade-off: while
/// remembered, a late duplicate exit/delete of that run is dropped; after that, the same late duplicate is taken for the
/// first event of a new, implicit run and is delivered again. It must comfortably exceed the longest re-send window of a
/// copy nobody owns (containerd's shim publisher retries for about 15 s); memory is one small record per run.
/// </param>
/// <param name="HoldUnreleasedFor">
/// How long a finished run nobody released is kept (default 7 days): its owner may still offer it again after a restart,
/// so it is kept until released; this bounds what a release lost in a crash (between the record's forgetting and the
/// release's write) leaves behind. A restart later than this after such a crash is the one case where a copy can be
/// delivered again.
/// </param>
/// <param name="MaxTrackedRuns">Hard cap; past it the oldest finished runs go first, then the least recently seen.</param>
/// <param name="MaxRetiredPids">How many previous-run pids a key remembers for stale detection.</param>
public sealed record RunRetention(TimeSpan RetainFinishedRunsFor, int MaxTrackedRuns = 100_000, int MaxRetiredPids = 8,
    TimeSpan? HoldUnreleasedFor = null)
{
    public TimeSpan HoldUnreleased => HoldUnreleasedFor ?? TimeSpan.FromDays(7);

    public static readonly RunRetention Default = new(TimeSpan.FromMinutes(10));
}
