using System.Collections.Immutable;
using ActorRuntime.Events;

namespace ActorRuntime.Tasks;

/// <summary>
/// What <see cref="Exits"/> remembers: per process (namespace, container, exec id) the run whose end has begun to
/// enter the bus — its pid, and whether its exit and its delete are in — and, for runs our side has ended, their pid
/// (<see cref="Ended"/>), so that a late copy of an ended run (the shim's own forward racing our Delete reply) enters
/// nothing and leaves nothing behind. Ended runs are kept up to <see cref="MaxEnded"/>, oldest forgotten first; a copy
/// older than that reaches the bus, which drops it as the last line. Pure transitions.
/// </summary>
internal sealed record ExitsState(
    ImmutableDictionary<(string Namespace, string ContainerId, string ExecId), ExitsState.Run> Runs,
    ImmutableDictionary<(string Namespace, string ContainerId, string ExecId), uint> Ended,
    ImmutableQueue<((string Namespace, string ContainerId, string ExecId) Key, uint Pid)> EndedOrder,
    int MaxEnded)
{
    /// <param name="Exit">The exit that entered (once <paramref name="ExitIn"/>): the run's delete repeats its status.</param>
    public sealed record Run(uint Pid, bool ExitIn, bool DeleteIn, TaskEvent? Exit = null);

    public static readonly ExitsState Empty = WithMaxEnded(10_000);

    public static ExitsState WithMaxEnded(int maxEnded) => new(
        ImmutableDictionary<(string, string, string), Run>.Empty, ImmutableDictionary<(string, string, string), uint>.Empty,
        ImmutableQueue<((string, string, string), uint)>.Empty, maxEnded);

    /// <summary>
    /// The events of <paramref name="witness"/> that enter the bus — its exit unless the run's exit is in, and with
    /// <paramref name="deleted"/> its delete (after that exit) unless the run's delete is in — and the state after.
    /// </summary>
    public (ExitsState Next, IReadOnlyList<TaskEvent> Enter) Witness(ExitWitness witness, bool deleted)
    {
        var key = (witness.Namespace, witness.ContainerId, witness.ExecId);
        // A late copy of a run we ended: its exit and delete are in already.
        if (!Runs.ContainsKey(key) && witness.Pid != 0 && Ended.TryGetValue(key, out var endedPid) && endedPid == witness.Pid)
            return (this, []);
        var run = Runs.TryGetValue(key, out var known) && SameRun(known.Pid, witness.Pid) ? known : new Run(witness.Pid, false, false);
        var enter = new List<TaskEvent>(2);
        var exit = run.Exit ?? witness.ToEvent(Topics.Exit);
        if (!run.ExitIn) enter.Add(exit);
        // The delete agrees with the exit that is in, whoever brings it: a dead-shim cleanup after the exit was seen
        // knows only 255.
        if (deleted && !run.DeleteIn) enter.Add(exit with { Topic = Topics.Delete, Timestamp = witness.Timestamp });
        var next = new Run(run.Pid == 0 ? witness.Pid : run.Pid, ExitIn: true, DeleteIn: run.DeleteIn || deleted, exit);
        if (!witness.EndsRun) return (this with { Runs = Runs.SetItem(key, next) }, enter);
        // A container's end is its execs' end too.
        var ending = witness.ExecId.Length > 0
            ? [(key, next.Pid)]
            : Runs.Where(kv => kv.Key.Namespace == witness.Namespace && kv.Key.ContainerId == witness.ContainerId && kv.Key.ExecId.Length > 0)
                .Select(kv => (kv.Key, kv.Value.Pid)).Append((key, next.Pid)).ToList();
        return (EndRuns(ending), enter);
    }

    private ExitsState EndRuns(IReadOnlyList<((string, string, string) Key, uint Pid)> ending)
    {
        var state = this with { Runs = Runs.RemoveRange(ending.Select(e => e.Key)) };
        foreach (var (key, pid) in ending.Where(e => e.Pid != 0))
            state = state with { Ended = state.Ended.SetItem(key, pid), EndedOrder = state.EndedOrder.Enqueue((key, pid)) };
        while (state.Ended.Count > MaxEnded && !state.EndedOrder.IsEmpty)
        {
            var order = state.EndedOrder.Dequeue(out var oldest);
            // A key ended again later is queued again; only its latest entry forgets it.
            var ended = state.Ended.TryGetValue(oldest.Key, out var pid) && pid == oldest.Pid ? state.Ended.Remove(oldest.Key) : state.Ended;
            state = state with { Ended = ended, EndedOrder = order };
        }
        return state;
    }

    /// <summary>Runs are told apart by pid; 0 (unknown) matches any.</summary>
    private static bool SameRun(uint known, uint seen) => known == 0 || seen == 0 || known == seen;
}
