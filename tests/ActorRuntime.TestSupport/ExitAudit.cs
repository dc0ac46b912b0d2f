using ActorRuntime.Events;

namespace ActorRuntime.Testing;

/// <summary>
/// A process run whose end a subscriber must see: the init of <see cref="ContainerId"/> (exit and delete) or one of its
/// execs (exit only). <see cref="MustEnd"/>: the run surely existed, so its exit (and delete) must be there; otherwise at
/// most one may be. Any exit seen must have one of <see cref="Statuses"/>.
/// </summary>
public sealed record ExpectedRun(string ContainerId, string ExecId, bool MustEnd, IReadOnlySet<uint> Statuses)
{
    public override string ToString() => ExecId.Length > 0 ? $"{ContainerId}/{ExecId}" : ContainerId;
}

/// <summary>What <see cref="ExitAudit.Check"/> found: counts by kind, and each problem in words.</summary>
public sealed record AuditResult(int Lost, int Duplicated, int WrongStatus, IReadOnlyList<string> Problems)
{
    public bool Clean => Problems.Count == 0;
}

/// <summary>
/// Checks the raw event list one subscriber received (every delivery counted, nothing de-duplicated) against the runs
/// that were made: one exit per run and one delete per init run, the delete after the exit and agreeing with it, each
/// status one of those allowed, and no delivery twice (the same bus offset received again).
/// </summary>
public static class ExitAudit
{
    public static AuditResult Check(IReadOnlyList<HostEvent> received, IEnumerable<ExpectedRun> runs)
    {
        var problems = new List<string>();
        int lost = 0, duplicated = 0, wrong = 0;
        foreach (var again in received.GroupBy(e => e.Offset).Where(g => g.Count() > 1))
        {
            duplicated += again.Count() - 1;
            problems.Add($"offset {again.Key} received {again.Count()} times: {string.Join(" | ", again)}");
        }
        foreach (var run in runs)
        {
            var exits = received.Where(e => e.ContainerId == run.ContainerId && e.ExecId == run.ExecId && e.Topic == Topics.Exit).ToList();
            if (exits.Count > 1)
            {
                duplicated += exits.Count - 1;
                problems.Add($"{run}: {exits.Count} exits: {string.Join(" | ", exits)}");
            }
            if (run.MustEnd && exits.Count == 0)
            {
                lost++;
                problems.Add($"{run}: no exit");
            }
            foreach (var exit in exits.Where(e => !run.Statuses.Contains(e.ExitStatus)))
            {
                wrong++;
                problems.Add($"{run}: exit status {exit.ExitStatus}, expected {string.Join(" or ", run.Statuses)} ({exit})");
            }
            if (run.ExecId.Length > 0) continue;
            var deletes = received.Where(e => e.ContainerId == run.ContainerId && e.Topic == Topics.Delete).ToList();
            if (deletes.Count > 1)
            {
                duplicated += deletes.Count - 1;
                problems.Add($"{run}: {deletes.Count} deletes: {string.Join(" | ", deletes)}");
            }
            if (run.MustEnd && deletes.Count == 0)
            {
                lost++;
                problems.Add($"{run}: no delete");
            }
            if (deletes.Count > 0 && exits.Count == 0) problems.Add($"{run}: delete without exit ({deletes[0]})");
            if (deletes.Count > 0 && exits.Count > 0 && (deletes[0].Offset < exits[0].Offset || deletes[0].ExitStatus != exits[0].ExitStatus))
            {
                wrong++;
                problems.Add($"{run}: delete {deletes[0]} does not follow and agree with exit {exits[0]}");
            }
        }
        return new AuditResult(lost, duplicated, wrong, problems);
    }
}
