using System.Collections.Immutable;
using ActorRuntime.Events;

namespace ActorRuntime.Tasks;

/// <summary>
/// What <see cref="Exits"/> remembers: per process (namespace, container, exec id) the run whose end has begun to
/// enter the bus — its pid, and whether its exit and its delete are in. Pure transitions.
/// </summary>
internal sealed record ExitsState(ImmutableDictionary<(string Namespace, string ContainerId, string ExecId), ExitsState.Run> Runs)
{
    public sealed record Run(uint Pid, bool ExitIn, bool DeleteIn);

    public static readonly ExitsState Empty = new(ImmutableDictionary<(string, string, string), Run>.Empty);

    /// <summary>
    /// The events of <paramref name="witness"/> that enter the bus — its exit unless the run's exit is in, and with
    /// <paramref name="deleted"/> its delete (after that exit) unless the run's delete is in — and the state after.
    /// </summary>
    public (ExitsState Next, IReadOnlyList<TaskEvent> Enter) Witness(ExitWitness witness, bool deleted)
    {
        var key = (witness.Namespace, witness.ContainerId, witness.ExecId);
        var run = Runs.TryGetValue(key, out var known) && SameRun(known.Pid, witness.Pid) ? known : new Run(witness.Pid, false, false);
        var enter = new List<TaskEvent>(2);
        if (!run.ExitIn) enter.Add(witness.ToEvent(Topics.Exit));
        if (deleted && !run.DeleteIn) enter.Add(witness.ToEvent(Topics.Delete));
        var next = new Run(run.Pid == 0 ? witness.Pid : run.Pid, ExitIn: true, DeleteIn: run.DeleteIn || deleted);
        var runs = !witness.EndsRun
            ? Runs.SetItem(key, next)
            : witness.ExecId.Length > 0
                ? Runs.Remove(key)
                // A container's end is its execs' end too.
                : Runs.RemoveRange(Runs.Keys.Where(k => k.Namespace == witness.Namespace && k.ContainerId == witness.ContainerId));
        return (new ExitsState(runs), enter);
    }

    /// <summary>Runs are told apart by pid; 0 (unknown) matches any.</summary>
    private static bool SameRun(uint known, uint seen) => known == 0 || seen == 0 || known == seen;
}
