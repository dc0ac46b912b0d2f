using System.Collections.Immutable;

namespace ActorRuntime.Events;

/// <summary>
/// The EventBus's decision state: the last delivery offset and one <see cref="RunState"/> per process slot.
/// Immutable, with pure instance methods: <see cref="Decide(TaskEvent, DateTimeOffset, RunRetention)"/> (event, now) →
/// decision, <see cref="Apply(PublishDecision)"/> → new state, <see cref="DecidePrune"/> / <see cref="Apply(RunsForgotten)"/>
/// for bounding the state. The bus journals the decisions and rebuilds the state by replaying Apply.
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
/// <item>A delete after the run's exit repeats that exit's figures (status, time, pid): a delete never contradicts the
/// exit before it, whoever offered it and whenever — dead-shim cleanup, which cannot know the status, included.</item>
/// <item>A finished run is kept until its owner releases it (<see cref="DecideRelease"/>), then for the retention, so a
/// copy its owner offers again after a restart, however late, is dropped (see <see cref="RunState.ReleasedAt"/>).</item>
/// <item>Every other topic (oom, paused, resumed, checkpointed, …), and every event with a payload (containers,
/// namespaces, whatever a client publishes), is delivered as it comes and touches no run.</item>
/// </list>
/// Delivered events get consecutive offsets from 1; dropped events get none. Timestamps are never compared (NTP can
/// move them backwards); only identity (key, run, pid) is.
/// </summary>
public sealed record EventBusState(
    EventOffset LastOffset,
    long LastRunId,
    ImmutableDictionary<RunKey, RunState> Runs,
    long DroppedDuplicates,
    long DroppedStale)
{
    public static readonly EventBusState Empty = new(EventOffset.Start, 0, ImmutableDictionary<RunKey, RunState>.Empty, 0, 0);

    public RunState? RunOf(RunKey key) => Runs.GetValueOrDefault(key);

    // ---------------------------------------------------------------------------------------------------------------
    // Decide

    public PublishDecision Decide(TaskEvent e, DateTimeOffset now) => Decide(e, now, RunRetention.Default);

    public PublishDecision Decide(TaskEvent e, DateTimeOffset now, RunRetention retention)
    {
        ArgumentNullException.ThrowIfNull(e);
        var key = RunKey.Of(e);
        if (e.Payload is not null) return Deliver(e, null, null);
        return e.Topic switch
        {
            Topics.Create or Topics.ExecAdded => DecideBegin(key, e, now, retention),
            Topics.Start or Topics.ExecStarted => DecideStart(key, e, now),
            Topics.Exit => DecideEnd(key, e, now, isExit: true),
            Topics.Delete => DecideEnd(key, e, now, isExit: false),
            _ => Deliver(e, null, null),
        };
    }

    private PublishDecision DecideBegin(RunKey key, TaskEvent e, DateTimeOffset now, RunRetention retention)
    {
        if (RunOf(key) is not { } run)
            return Deliver(e, key, NewRun(key, e.Pid, now, previous: null, retention) with { Created = true });

        if (IsRetired(run, e.Pid))
            return Drop(e, DropReason.Stale, $"pid {e.Pid} belongs to an earlier run of {key}");

        var finished = run.Deleted || (!key.IsInit && run.Exited) || IsOrphanedExec(key, run);
        if (finished)
        {
            if (e.Pid != 0 && e.Pid == run.Pid)
                return Drop(e, DropReason.Stale, $"{e.Topic} for the finished run of {key} (pid {e.Pid})");
            return Deliver(e, key, NewRun(key, e.Pid, now, run, retention) with { Created = true });
        }

        var samePid = e.Pid == 0 || run.Pid == 0 || e.Pid == run.Pid;
        if (!run.Created && samePid)
            return Deliver(e, key, run with { Created = true, Pid = Fill(run.Pid, e.Pid), LastSeen = now });
        if (samePid)
            return Drop(e, DropReason.Duplicate, $"{e.Topic} repeated for {key}");

        // A different pid while the run is not deleted: the previous run's delete (or exit) was lost; begin anew.
        return Deliver(e, key, NewRun(key, e.Pid, now, run, retention) with { Created = true });
    }

    private PublishDecision DecideStart(RunKey key, TaskEvent e, DateTimeOffset now)
    {
        if (RunOf(key) is not { } run)
            return Deliver(e, key, Implicit(key, e.Pid, now) with { Started = true });
        if (IsRetired(run, e.Pid) || (e.Pid != 0 && run.Pid != 0 && e.Pid != run.Pid))
            return Drop(e, DropReason.Stale, $"{e.Topic} pid {e.Pid} is not the pid {run.Pid} of the current run of {key}");
        if (run.Started)
            return Drop(e, DropReason.Duplicate, $"{e.Topic} repeated for {key}");
        return Deliver(e, key, run with { Started = true, Pid = Fill(run.Pid, e.Pid), LastSeen = now });
    }

    private PublishDecision DecideEnd(RunKey key, TaskEvent e, DateTimeOffset now, bool isExit)
    {
        if (RunOf(key) is not { } run)
            return Deliver(e, key, MarkEnd(Implicit(key, e.Pid, now), key, e, now));
        if (IsRetired(run, e.Pid) || (e.Pid != 0 && run.Pid != 0 && e.Pid != run.Pid))
            return Drop(e, DropReason.Stale, $"{e.Topic} pid {e.Pid} is not the pid {run.Pid} of the current run of {key}");
        if (isExit ? run.Exited : run.Deleted)
            return Drop(e, DropReason.Duplicate, $"{e.Topic} already delivered for run {run.RunId} of {key} (status {e.ExitStatus})");
        if (!isExit && run.ExitStatus is { } status)
            e = e with { Pid = Fill(e.Pid, run.Pid), ExitStatus = status, ExitedAt = run.ExitedAt ?? e.ExitedAt };
        return Deliver(e, key, MarkEnd(run with { Pid = Fill(run.Pid, e.Pid), LastSeen = now }, key, e, now));
    }

    /// <summary>An exit keeps its figures for the delete to repeat.</summary>
    private static RunState MarkEnd(RunState run, RunKey key, TaskEvent e, DateTimeOffset now) =>
        e.Topic == Topics.Exit
            ? run with
            {
                Exited = true, FinishedAt = key.IsInit ? run.FinishedAt : run.FinishedAt ?? now, ExitStatus = e.ExitStatus,
                ExitedAt = e.ExitedAt,
            }
            : run with { Deleted = true, FinishedAt = run.FinishedAt ?? now };

    private RunState NewRun(RunKey key, uint pid, DateTimeOffset now, RunState? previous, RunRetention retention)
    {
        var retired = previous?.RetiredPids ?? ImmutableList<uint>.Empty;
        if (previous is { Pid: not 0 } && !retired.Contains(previous.Pid))
            retired = retired.Add(previous.Pid);
        while (retired.Count > retention.MaxRetiredPids)
            retired = retired.RemoveAt(0);
        return new RunState(
            LastRunId + 1, pid, InitRunIdFor(key), Created: false, Started: false, Exited: false,
            Deleted: false, now, FinishedAt: null, retired);
    }

    private RunState Implicit(RunKey key, uint pid, DateTimeOffset now) =>
        new(LastRunId + 1, pid, InitRunIdFor(key), false, false, false, false, now, null, ImmutableList<uint>.Empty);

    private long InitRunIdFor(RunKey key) => key.IsInit ? 0 : RunOf(key.InitKey)?.RunId ?? 0;

    /// <summary>An exec run whose init run has been replaced since it began (its InitRunId is no longer current).</summary>
    private bool IsOrphanedExec(RunKey key, RunState run)
    {
        if (key.IsInit) return false;
        var init = RunOf(key.InitKey);
        return init is not null && run.InitRunId != 0 && init.RunId != run.InitRunId;
    }

    private static bool IsRetired(RunState run, uint pid) => pid != 0 && pid != run.Pid && run.RetiredPids.Contains(pid);

    private static uint Fill(uint known, uint seen) => known != 0 ? known : seen;

    private EventDelivered Deliver(TaskEvent e, RunKey? key, RunState? run) =>
        new(e with { Offset = LastOffset.Next.Value }, key, run);

    private static EventDropped Drop(TaskEvent e, DropReason reason, string detail) => new(e with { Offset = 0 }, reason, detail);

    // ---------------------------------------------------------------------------------------------------------------
    // Apply

    public EventBusState Apply(PublishDecision decision) => decision switch
    {
        EventDelivered { Key: { } key, Run: { } run } d => this with
        {
            LastOffset = EventOffset.Of(d.Event),
            LastRunId = Math.Max(LastRunId, run.RunId),
            Runs = Runs.SetItem(key, EndsAsApplied(key, d.Event, run)),
        },
        EventDelivered d => this with { LastOffset = EventOffset.Of(d.Event) },
        EventDropped { Reason: DropReason.Duplicate } => this with { DroppedDuplicates = DroppedDuplicates + 1 },
        EventDropped => this with { DroppedStale = DroppedStale + 1 },
        _ => throw new ArgumentOutOfRangeException(nameof(decision), decision, "unknown decision"),
    };

    /// <summary>
    /// A delivered event carries its run as decided, when every earlier decision still counted. Its exit and delete
    /// marks are taken only from the event itself or from the run as applied so far, so an exit whose write never
    /// happened (rejected, or lost with a failed write while a later event of the run got through) is not counted in by
    /// that later event, live or on replay, and a retried exit is delivered. Without a lost write this changes nothing.
    /// </summary>
    private RunState EndsAsApplied(RunKey key, TaskEvent e, RunState run)
    {
        var applied = RunOf(key) is { } current && current.RunId == run.RunId ? current : null;
        var exited = e.Topic == Topics.Exit || applied is { Exited: true };
        var deleted = e.Topic == Topics.Delete || applied is { Deleted: true };
        var (status, exitedAt) = e.Topic == Topics.Exit ? (e.ExitStatus, e.ExitedAt)
            : applied is { Exited: true } ? (applied.ExitStatus, applied.ExitedAt) : (null, null);
        var released = run.ReleasedAt ?? applied?.ReleasedAt;
        if (exited == run.Exited && deleted == run.Deleted && status == run.ExitStatus && released == run.ReleasedAt) return run;
        var finished = deleted || (!key.IsInit && exited);
        return run with
        {
            Exited = exited, Deleted = deleted, FinishedAt = finished ? run.FinishedAt ?? applied?.FinishedAt : null,
            ExitStatus = status, ExitedAt = exitedAt, ReleasedAt = released,
        };
    }

    /// <summary>Every run given up ends, exited (its own exit's figures kept, if it had one) and deleted; a key not held yet gets a run of pid 0.</summary>
    public EventBusState Apply(RunsGivenUp givenUp)
    {
        var state = this;
        // Init keys first, so a new exec run is tied to the init run it ends with.
        foreach (var key in givenUp.Keys.OrderBy(k => k.IsInit ? 0 : 1))
        {
            var run = state.RunOf(key) ?? state.Implicit(key, 0, givenUp.At);
            run = run with
            {
                Exited = true, Deleted = true, ExitStatus = run.Exited ? run.ExitStatus : givenUp.ExitStatus,
                ExitedAt = run.Exited ? run.ExitedAt : givenUp.At, FinishedAt = run.FinishedAt ?? givenUp.At,
            };
            state = state with { LastRunId = Math.Max(state.LastRunId, run.RunId), Runs = state.Runs.SetItem(key, run) };
        }
        return state;
    }

    public EventBusState Apply(RunsForgotten forgotten) => this with { Runs = Runs.RemoveRange(forgotten.Keys) };

    public EventBusState Apply(RunsReleased released) => this with
    {
        Runs = Runs.SetItems(released.Runs
            .Where(r => Runs.TryGetValue(r.Key, out var run) && run.RunId == r.RunId)
            .Select(r => KeyValuePair.Create(r.Key, Runs[r.Key] with { ReleasedAt = released.At }))),
    };

    // ---------------------------------------------------------------------------------------------------------------
    // Release

    /// <summary>
    /// Which of <paramref name="releases"/> name a run the bus holds and has not released (same key; the same pid, or
    /// 0 on either side): those are released at <paramref name="now"/>. Null when none is.
    /// </summary>
    public RunsReleased? DecideRelease(IEnumerable<RunRelease> releases, DateTimeOffset now)
    {
        var runs = releases
            .Where(r => RunOf(r.Key) is { ReleasedAt: null } run && (r.Pid == 0 || run.Pid == 0 || r.Pid == run.Pid))
            .Select(r => (r.Key, Runs[r.Key].RunId))
            .Distinct()
            .ToList();
        return runs.Count == 0 ? null : new RunsReleased(runs, now);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Give up

    /// <summary>
    /// The runs of <paramref name="containers"/> (their init keys, namespace and container id; the exec runs held for them
    /// come along) that the cluster gives up at <paramref name="at"/>, ending with <paramref name="exitStatus"/>.
    /// </summary>
    public RunsGivenUp DecideGiveUp(IEnumerable<RunKey> containers, uint exitStatus, DateTimeOffset at)
    {
        var inits = containers.Select(c => c.InitKey).ToHashSet();
        var keys = inits.Concat(Runs.Keys.Where(k => !k.IsInit && inits.Contains(k.InitKey)))
            .OrderBy(k => k.Namespace, StringComparer.Ordinal).ThenBy(k => k.ContainerId, StringComparer.Ordinal)
            .ThenBy(k => k.ExecId, StringComparer.Ordinal).ToList();
        return new RunsGivenUp(keys, exitStatus, at);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Prune

    /// <summary>
    /// Which runs to forget at <paramref name="now"/>: finished runs released for the retention (or, unreleased, finished
    /// for <see cref="RunRetention.HoldUnreleased"/>), unfinished exec runs orphaned by a newer or forgotten init run and
    /// not seen for the retention, then (over <see cref="RunRetention.MaxTrackedRuns"/>) the released finished runs first, oldest
    /// first, then the least recently seen. Null when there is nothing to forget.
    /// </summary>
    public RunsForgotten? DecidePrune(DateTimeOffset now, RunRetention retention)
    {
        var cutoff = now - retention.RetainFinishedRunsFor;
        var holdCutoff = now - retention.HoldUnreleased;
        var forget = new HashSet<RunKey>();
        foreach (var (key, run) in Runs)
        {
            if (run.FinishedAt is { } finished &&
                (run.ReleasedAt is { } released ? (released > finished ? released : finished) <= cutoff : finished <= holdCutoff))
                forget.Add(key);
            // A finished exec run waits for its release like any other; only one that never ended is orphaned.
            else if (!key.IsInit && run.FinishedAt is null && run.LastSeen <= cutoff && IsExecWithoutLiveInit(key, run))
                forget.Add(key);
        }

        var excess = Runs.Count - forget.Count - retention.MaxTrackedRuns;
        if (excess > 0)
        {
            var victims = Runs
                .Where(kv => !forget.Contains(kv.Key))
                .OrderBy(kv => kv.Value.FinishedAt is null ? 2 : kv.Value.ReleasedAt is null ? 1 : 0)
                .ThenBy(kv => kv.Value.FinishedAt ?? kv.Value.LastSeen)
                .ThenBy(kv => kv.Value.RunId)
                .Take(excess)
                .Select(kv => kv.Key);
            forget.UnionWith(victims);
        }

        return forget.Count == 0
            ? null
            : new RunsForgotten(forget.OrderBy(k => Runs[k].RunId).ToList());
    }

    private bool IsExecWithoutLiveInit(RunKey key, RunState run)
    {
        var init = RunOf(key.InitKey);
        return init is null || init.Deleted || (run.InitRunId != 0 && init.RunId != run.InitRunId);
    }
}
