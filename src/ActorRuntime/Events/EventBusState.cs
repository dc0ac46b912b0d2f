using System.Collections.Immutable;
using ActorRuntime.Containers;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;

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

/// <summary>Why a published event was not delivered.</summary>
public enum DropReason
{
    /// <summary>The run already had this event (exit, delete; or an exact repeat of create/start).</summary>
    Duplicate,
    /// <summary>The event's pid belongs to an earlier run of the same key.</summary>
    Stale,
}

/// <summary>What <see cref="EventBusState.Decide"/> decided for one published event; journal-able as is.</summary>
public abstract record PublishDecision(TaskEvent Event);

/// <summary>Deliver <paramref name="Event"/> (its Offset assigned). When <paramref name="Key"/> is set, the run becomes <paramref name="Run"/>.</summary>
/// <remarks>This is what the bus journals (tagged <c>task-events</c>); the stored Event.Offset is the bus's own delivery number.</remarks>
public sealed record EventDelivered(TaskEvent Event, RunKey? Key, RunState? Run) : PublishDecision(Event);

/// <summary>Drop <paramref name="Event"/> (Offset stays 0); <paramref name="Detail"/> says why, for logs.</summary>
public sealed record EventDropped(TaskEvent Event, DropReason Reason, string Detail) : PublishDecision(Event);

/// <summary>Bookkeeping of these finished (or orphaned, or over-capacity) runs is forgotten.</summary>
public sealed record RunsForgotten(IReadOnlyList<RunKey> Keys);

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

/// <summary>
/// The EventBus's decision state: the global offset and one <see cref="RunState"/> per process slot.
/// Pure functions only: <see cref="Decide"/> (state, event, now) → decision, <see cref="Apply(EventBusState, PublishDecision)"/>
/// (state, decision) → state, <see cref="DecidePrune"/> / <see cref="Apply(EventBusState, RunsForgotten)"/> for bounding
/// the state. A persistent actor can journal the decisions and rebuild the state by replaying Apply.
///
/// <para>Rules. A run of (namespace, container, exec) begins at <c>/tasks/create</c> (init) or <c>/tasks/exec-added</c>
/// (exec), or implicitly at the first start/exit/delete seen for the key. It records the pid when known (create, start,
/// exec-started, or the first exit/delete carrying one).</para>
/// <list type="number">
/// <item><c>/tasks/exit</c> and <c>/tasks/delete</c> are delivered at most once per run: a second one is a
/// <see cref="DropReason.Duplicate"/> (this covers the shim forwarding twice, re-sends after a retry, and dead-shim cleanup's
/// synthetic exit/delete (status 255 or the delete response's status) after the real one was seen). Exit and delete are
/// tracked separately, so a delete that overtakes its exit still lets the exit through once.</item>
/// <item>An exit/delete (or start) whose non-zero pid differs from the run's known pid, or equals a pid of an earlier run of
/// the key, is <see cref="DropReason.Stale"/>. Pid 0 (unknown, e.g. a synthetic exit when the shim's delete failed) never
/// counts as different.</item>
/// <item>A create after the run's delete starts a new run, unless it carries the deleted run's (or an earlier run's) pid:
/// then it is a late re-send, Stale. A create with a new pid while the current run is not deleted also starts a new run
/// (the old run's delete or exit was lost). A repeated create with the same pid is a Duplicate; a create for a run that
/// began implicitly (from a reordered later event) is delivered once and fills in the pid.</item>
/// <item>An exec-added starts a new exec run when the previous run of that exec id has exited/deleted, or belonged to an
/// earlier init run (exec ids are reusable); otherwise it is a Duplicate. Exec and init runs are independent keys, so an
/// exec's exit is delivered once whether it comes before or after the init's exit or delete.</item>
/// <item>start/exec-started: an exact repeat (already started, same or unknown pid) is a Duplicate.</item>
/// <item>Every other topic (oom, paused, resumed, checkpointed, …) is delivered as it comes and touches no run.</item>
/// </list>
/// Delivered events get consecutive offsets from 1; dropped events get none. Timestamps are never compared (NTP can
/// move them backwards); only identity (key, run, pid) is.
/// </summary>
public sealed record EventBusState(
    long LastOffset,
    long LastRunId,
    ImmutableDictionary<RunKey, RunState> Runs,
    long DroppedDuplicates,
    long DroppedStale)
{
    public static readonly EventBusState Empty = new(0, 0, ImmutableDictionary<RunKey, RunState>.Empty, 0, 0);

    public RunState? RunOf(RunKey key) => Runs.GetValueOrDefault(key);

    // ---------------------------------------------------------------------------------------------------------------
    // Decide

    public static PublishDecision Decide(EventBusState state, TaskEvent e, DateTimeOffset now) =>
        Decide(state, e, now, RunRetention.Default);

    public static PublishDecision Decide(EventBusState state, TaskEvent e, DateTimeOffset now, RunRetention retention)
    {
        ArgumentNullException.ThrowIfNull(e);
        var key = RunKey.Of(e);
        return e.Topic switch
        {
            Topics.Create or Topics.ExecAdded => DecideBegin(state, key, e, now, retention),
            Topics.Start or Topics.ExecStarted => DecideStart(state, key, e, now),
            Topics.Exit => DecideEnd(state, key, e, now, isExit: true),
            Topics.Delete => DecideEnd(state, key, e, now, isExit: false),
            _ => Deliver(state, e, null, null),
        };
    }

    private static PublishDecision DecideBegin(EventBusState state, RunKey key, TaskEvent e, DateTimeOffset now, RunRetention retention)
    {
        if (state.RunOf(key) is not { } run)
            return Deliver(state, e, key, NewRun(state, key, e.Pid, now, previous: null, retention) with { Created = true });

        if (IsRetired(run, e.Pid))
            return Drop(e, DropReason.Stale, $"pid {e.Pid} belongs to an earlier run of {key}");

        var finished = run.Deleted || (!key.IsInit && run.Exited) || IsOrphanedExec(state, key, run);
        if (finished)
        {
            if (e.Pid != 0 && e.Pid == run.Pid)
                return Drop(e, DropReason.Stale, $"{e.Topic} for the finished run of {key} (pid {e.Pid})");
            return Deliver(state, e, key, NewRun(state, key, e.Pid, now, run, retention) with { Created = true });
        }

        var samePid = e.Pid == 0 || run.Pid == 0 || e.Pid == run.Pid;
        if (!run.Created && samePid)
            return Deliver(state, e, key, run with { Created = true, Pid = Fill(run.Pid, e.Pid), LastSeen = now });
        if (samePid)
            return Drop(e, DropReason.Duplicate, $"{e.Topic} repeated for {key}");

        // A different pid while the run is not deleted: the previous run's delete (or exit) was lost; begin anew.
        return Deliver(state, e, key, NewRun(state, key, e.Pid, now, run, retention) with { Created = true });
    }

    private static PublishDecision DecideStart(EventBusState state, RunKey key, TaskEvent e, DateTimeOffset now)
    {
        if (state.RunOf(key) is not { } run)
            return Deliver(state, e, key, Implicit(state, key, e.Pid, now) with { Started = true });
        if (IsRetired(run, e.Pid) || (e.Pid != 0 && run.Pid != 0 && e.Pid != run.Pid))
            return Drop(e, DropReason.Stale, $"{e.Topic} pid {e.Pid} is not the pid {run.Pid} of the current run of {key}");
        if (run.Started)
            return Drop(e, DropReason.Duplicate, $"{e.Topic} repeated for {key}");
        return Deliver(state, e, key, run with { Started = true, Pid = Fill(run.Pid, e.Pid), LastSeen = now });
    }

    private static PublishDecision DecideEnd(EventBusState state, RunKey key, TaskEvent e, DateTimeOffset now, bool isExit)
    {
        if (state.RunOf(key) is not { } run)
        {
            var fresh = Implicit(state, key, e.Pid, now);
            return Deliver(state, e, key, MarkEnd(fresh, key, isExit, now));
        }
        if (IsRetired(run, e.Pid) || (e.Pid != 0 && run.Pid != 0 && e.Pid != run.Pid))
            return Drop(e, DropReason.Stale, $"{e.Topic} pid {e.Pid} is not the pid {run.Pid} of the current run of {key}");
        if (isExit ? run.Exited : run.Deleted)
            return Drop(e, DropReason.Duplicate, $"{e.Topic} already delivered for run {run.RunId} of {key} (status {e.ExitStatus})");
        return Deliver(state, e, key, MarkEnd(run with { Pid = Fill(run.Pid, e.Pid), LastSeen = now }, key, isExit, now));
    }

    private static RunState MarkEnd(RunState run, RunKey key, bool isExit, DateTimeOffset now) =>
        isExit
            ? run with { Exited = true, FinishedAt = key.IsInit ? run.FinishedAt : run.FinishedAt ?? now }
            : run with { Deleted = true, FinishedAt = run.FinishedAt ?? now };

    private static RunState NewRun(EventBusState state, RunKey key, uint pid, DateTimeOffset now, RunState? previous, RunRetention retention)
    {
        var retired = previous?.RetiredPids ?? ImmutableList<uint>.Empty;
        if (previous is { Pid: not 0 } && !retired.Contains(previous.Pid))
            retired = retired.Add(previous.Pid);
        while (retired.Count > retention.MaxRetiredPids)
            retired = retired.RemoveAt(0);
        return new RunState(
            state.LastRunId + 1, pid, InitRunIdFor(state, key), Created: false, Started: false, Exited: false,
            Deleted: false, now, FinishedAt: null, retired);
    }

    private static RunState Implicit(EventBusState state, RunKey key, uint pid, DateTimeOffset now) =>
        new(state.LastRunId + 1, pid, InitRunIdFor(state, key), false, false, false, false, now, null, ImmutableList<uint>.Empty);

    private static long InitRunIdFor(EventBusState state, RunKey key) =>
        key.IsInit ? 0 : state.RunOf(key.InitKey)?.RunId ?? 0;

    /// <summary>An exec run whose init run has been replaced since it began (its InitRunId is no longer current).</summary>
    private static bool IsOrphanedExec(EventBusState state, RunKey key, RunState run)
    {
        if (key.IsInit) return false;
        var init = state.RunOf(key.InitKey);
        return init is not null && run.InitRunId != 0 && init.RunId != run.InitRunId;
    }

    private static bool IsRetired(RunState run, uint pid) => pid != 0 && pid != run.Pid && run.RetiredPids.Contains(pid);

    private static uint Fill(uint known, uint seen) => known != 0 ? known : seen;

    private static EventDelivered Deliver(EventBusState state, TaskEvent e, RunKey? key, RunState? run) =>
        new(e with { Offset = state.LastOffset + 1 }, key, run);

    private static EventDropped Drop(TaskEvent e, DropReason reason, string detail) => new(e with { Offset = 0 }, reason, detail);

    // ---------------------------------------------------------------------------------------------------------------
    // Apply

    public static EventBusState Apply(EventBusState state, PublishDecision decision) => decision switch
    {
        EventDelivered { Key: { } key, Run: { } run } d => state with
        {
            LastOffset = d.Event.Offset,
            LastRunId = Math.Max(state.LastRunId, run.RunId),
            Runs = state.Runs.SetItem(key, run),
        },
        EventDelivered d => state with { LastOffset = d.Event.Offset },
        EventDropped { Reason: DropReason.Duplicate } => state with { DroppedDuplicates = state.DroppedDuplicates + 1 },
        EventDropped => state with { DroppedStale = state.DroppedStale + 1 },
        _ => throw new ArgumentOutOfRangeException(nameof(decision), decision, "unknown decision"),
    };

    public static EventBusState Apply(EventBusState state, RunsForgotten forgotten) =>
        state with { Runs = state.Runs.RemoveRange(forgotten.Keys) };

    // ---------------------------------------------------------------------------------------------------------------
    // Prune

    /// <summary>
    /// Which runs to forget at <paramref name="now"/>: finished runs older than the retention, exec runs orphaned by a newer
    /// or forgotten init run and not seen for the retention, then (over <see cref="RunRetention.MaxTrackedRuns"/>) the oldest
    /// finished and then least recently seen runs. Null when there is nothing to forget.
    /// </summary>
    public static RunsForgotten? DecidePrune(EventBusState state, DateTimeOffset now, RunRetention retention)
    {
        var cutoff = now - retention.RetainFinishedRunsFor;
        var forget = new HashSet<RunKey>();
        foreach (var (key, run) in state.Runs)
        {
            if (run.FinishedAt is { } finished && finished <= cutoff)
                forget.Add(key);
            else if (!key.IsInit && run.LastSeen <= cutoff && IsExecWithoutLiveInit(state, key, run))
                forget.Add(key);
        }

        var excess = state.Runs.Count - forget.Count - retention.MaxTrackedRuns;
        if (excess > 0)
        {
            var victims = state.Runs
                .Where(kv => !forget.Contains(kv.Key))
                .OrderBy(kv => kv.Value.FinishedAt is null ? 1 : 0)
                .ThenBy(kv => kv.Value.FinishedAt ?? kv.Value.LastSeen)
                .ThenBy(kv => kv.Value.RunId)
                .Take(excess)
                .Select(kv => kv.Key);
            forget.UnionWith(victims);
        }

        return forget.Count == 0
            ? null
            : new RunsForgotten(forget.OrderBy(k => state.Runs[k].RunId).ToList());
    }

    private static bool IsExecWithoutLiveInit(EventBusState state, RunKey key, RunState run)
    {
        var init = state.RunOf(key.InitKey);
        return init is null || init.Deleted || (run.InitRunId != 0 && init.RunId != run.InitRunId);
    }
}
