using ActorRuntime.Events;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Testing;
using Xunit.Abstractions;

namespace ActorRuntime.IntegrationTests.Restart;

/// <summary>
/// Restart cycles against real actorruntime-host processes (<see cref="RestartCycles"/> drives them): in every cycle
/// 20 busybox containers are put into mixed states (<see cref="ContainerKind"/>), with execs, the host is SIGKILLed in
/// the middle of exec kills and starts, things happen while it is down, a new host generation reloads, and everything
/// is stopped and deleted. The bus forgets a released run after 1 s, so every restart outlives its retention.
/// <para>Invariants: every process run's exit is published exactly once across all host generations, with the right
/// status — in particular an exit published by generation N is never published again by N+1 (what fails without the
/// EventBus's bookkeeping surviving a restart); every run is deleted exactly once, its delete after its exit and with
/// the same status; no container metadata is lost, changed or kept after its delete; at the end nothing leaks.</para>
/// </summary>
public sealed class RestartCycleSpec(ITestOutputHelper output)
{
    [Theory(Timeout = 240_000)]
    [InlineData(HostStore.Sqlite, 5)]
    [InlineData(HostStore.PostgreSql, 1)] // One cycle: it shares the two cores with the database server.
    public async Task Restart_cycles_publish_every_exit_exactly_once_lose_no_metadata_and_leak_nothing(HostStore store, int cycles)
    {
        await using var env = new ShimTestEnvironment();
        await using var run = await RestartCycles.StartAsync(env, store, output);
        for (var cycle = 0; cycle < cycles; cycle++)
        {
            var report = await run.RunCycleAsync(cycle);

            Assert.All(report.Containers, c => Assert.Empty(CreateProblems(c)));
            // Every shim that survived the host is reloaded; every killed one is cleaned up.
            Assert.Equal((Reloaded: 4 * RestartCycles.PerKind, CleanedUp: RestartCycles.PerKind), (report.Reloaded, report.CleanedUp));
            Assert.Empty(report.MetadataDifferences);
            // After the restart, listing and states agree with what happened while no host ran.
            Assert.Equal(report.Containers.Where(c => c.Kind != ContainerKind.ShimKilled).Select(c => c.Id).Order(),
                report.ListedAfterRestart.Order());
            Assert.Equal(report.Containers.Select(c => $"{c.Id}: {ExpectedStateAfterRestart(c)}"),
                report.Containers.Select(c => $"{c.Id}: {c.StateAfterRestart}"));
            Assert.Empty(ExactlyOnceProblems(report.JournalAfterRestart, run.Containers, final: false));
            // Then the running ones are killed through the API, and deleting each reports how its run ended.
            Assert.All(report.Containers.Where(c => c.Kind == ContainerKind.Running), c => Assert.Equal(137u, c.ExitAfterApiKill));
            Assert.Equal(report.Containers.Select(c => $"{c.Id}: {ExpectedDelete(c)}"),
                report.Containers.Select(c => $"{c.Id}: {c.Delete}"));
            Assert.Empty(report.ListedAfterDeletes);
        }

        var journal = await run.FinishAsync();
        Assert.Empty(ExactlyOnceProblems(journal, run.Containers, final: true));
        await LeakCheck.AssertCleanAsync(env);
    }

    private static string ExpectedStateAfterRestart(CycleContainer c) => c.Kind switch
    {
        ContainerKind.Running => "running",
        // Its task was cleaned up with its dead shim; its metadata stays until the container is deleted.
        ContainerKind.ShimKilled => "NotFound",
        _ => $"stopped {c.ExpectedExit}",
    };

    private static string ExpectedDelete(CycleContainer c) =>
        c.Kind == ContainerKind.ShimKilled ? "no task" : $"task deleted, exit {c.ExpectedExit}";

    /// <summary>Create returned the container as asked: id, labels, the default runtime, a spec hash, createdAt = updatedAt.</summary>
    private static IEnumerable<string> CreateProblems(CycleContainer c)
    {
        var m = c.Created!;
        var labels = m["labels"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>());
        if (m["id"]!.GetValue<string>() != c.Id) yield return $"{c.Id}: id {m["id"]}";
        if (labels.Count != c.Labels.Count || c.Labels.Any(kv => labels.GetValueOrDefault(kv.Key) != kv.Value))
            yield return $"{c.Id}: labels {m["labels"]!.ToJsonString()}";
        if (m["runtime"]!.GetValue<string>() != "io.containerd.runc.v2") yield return $"{c.Id}: runtime {m["runtime"]}";
        if (m["specSha256"]!.GetValue<string>().Length != 64) yield return $"{c.Id}: specSha256 {m["specSha256"]}";
        if (m["createdAt"]!.GetValue<string>() != m["updatedAt"]!.GetValue<string>())
            yield return $"{c.Id}: createdAt {m["createdAt"]} but updatedAt {m["updatedAt"]}";
    }

    /// <summary>
    /// Exactly once, across generations: at most one exit per run (each id is one run), with the expected status; at
    /// most one delete, after the exit and agreeing with it. With <paramref name="final"/> every run must have both.
    /// </summary>
    private static List<string> ExactlyOnceProblems(IReadOnlyList<HostEvent> journal, IReadOnlyList<CycleContainer> containers,
        bool final)
    {
        var problems = new List<string>();
        foreach (var c in containers)
        {
            foreach (var execId in c.Execs.Keys)
            {
                var execExits = journal.Where(e => e.ContainerId == c.Id && e.ExecId == execId && e.Topic == Topics.Exit).ToList();
                var started = execId != "late" || journal.Any(e => e.ContainerId == c.Id && e.ExecId == execId && e.Topic == Topics.ExecStarted);
                if (execExits.Count > 1)
                    problems.Add($"{c.Id}/{execId}: exit published {execExits.Count} times: {string.Join(" | ", execExits)}");
                foreach (var exit in execExits.Where(e => !c.ExecStatuses(execId).Contains(e.ExitStatus)))
                    problems.Add($"{c.Id}/{execId}: exit status {exit.ExitStatus}, expected {string.Join(" or ", c.ExecStatuses(execId))}");
                if (final && started && execExits.Count == 0) problems.Add($"{c.Id}/{execId}: exit never published");
            }
            var exits = journal.Where(e => e.ContainerId == c.Id && e.ExecId.Length == 0 && e.Topic == Topics.Exit).ToList();
            var deletes = journal.Where(e => e.ContainerId == c.Id && e.Topic == Topics.Delete).ToList();
            if (exits.Count > 1 && exits.Select(e => e.Generation).Distinct().Count() > 1)
                problems.Add($"{c.Id}: exit published again after a restart: {string.Join(" | ", exits)}");
            else if (exits.Count > 1)
                problems.Add($"{c.Id}: exit published {exits.Count} times: {string.Join(" | ", exits)}");
            if (deletes.Count > 1)
                problems.Add($"{c.Id}: delete published {deletes.Count} times: {string.Join(" | ", deletes)}");
            if (exits.Count >= 1)
            {
                var status = exits[0].ExitStatus;
                if (c.ExpectedExit is { } expected ? status != expected : status is not (137 or 255))
                    problems.Add($"{c.Id} ({c.Kind}): exit status {status}, expected {c.ExpectedExit?.ToString() ?? "137 or 255"}");
                if (deletes.Count >= 1 && deletes[0].ExitStatus != status)
                    problems.Add($"{c.Id}: delete says {deletes[0].ExitStatus}, exit said {status}");
                if (deletes.Count >= 1 && deletes[0].Offset < exits[0].Offset)
                    problems.Add($"{c.Id}: delete (#{deletes[0].Offset}) before exit (#{exits[0].Offset})");
            }
            if (final && exits.Count == 0) problems.Add($"{c.Id} ({c.Kind}): exit never published");
            if (final && deletes.Count == 0) problems.Add($"{c.Id} ({c.Kind}): delete never published");
        }
        return problems;
    }
}
