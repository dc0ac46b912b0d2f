using System.Diagnostics;
using System.Text.Json.Nodes;
using ActorRuntime.Events;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Shims;
using ActorRuntime.Testing;
using Xunit.Abstractions;

namespace ActorRuntime.IntegrationTests.Restart;

/// <summary>
/// Restart cycles against a real actorruntime-host process on one root/state directory: in every cycle 20 busybox
/// containers are put into mixed states, the host is SIGKILLed, things happen while it is down, a new host generation
/// reloads, and the events all generations emitted are reconciled against what really happened.
/// <para>Container kinds per cycle (4 each): <b>running</b> (sleep; killed with SIGKILL through the API after the
/// restart → 137), <b>exit-before</b> (<c>sleep 0.1; exit 10+i</c>, exit seen before the host is killed),
/// <b>exit-down</b> (<c>sleep 0.8; exit 20+i</c>, exits while no host runs), <b>killed-down</b> (init pid SIGKILLed
/// while the host is down → 137), <b>shim-killed</b> (the shim SIGKILLed while the host is down; the new host must
/// clean up and publish exit + delete with the status cleanup reports: the shim's delete status, 137, or 255).</para>
/// <para>Invariant: every process run's exit is published exactly once across all host generations, with the right
/// status; in particular an exit published by generation N is never published again by N+1 (that is what fails without
/// the EventBus's bookkeeping surviving a restart). Every run is deleted exactly once. At the end nothing leaks.</para>
/// <para>No lost container metadata: every container is created with labels (kind, cycle, index); after every restart
/// the metadata of every container not yet deleted is there and identical to what create returned (id, labels, spec
/// hash, runtime, image, createdAt/updatedAt), and that of every deleted one is gone — the shim-killed ones' included,
/// whose metadata outlives their cleaned-up task until they are deleted.</para>
/// <para>Subclasses choose the host's arguments: SQLite under the root by default, PostgreSQL with
/// <c>--db-provider/--db-connection</c> (<see cref="RestartCycleOnPostgreSqlSpec"/>).</para>
/// </summary>
public abstract class RestartCycleSpecBase(ITestOutputHelper output)
{
    private const int PerKind = 4;
    private const uint SigKill = 9;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(25);

    protected ITestOutputHelper Output { get; } = output;

    protected virtual int Cycles => 5;

    /// <summary>The host's command line for <paramref name="env"/>; every generation gets the same.</summary>
    protected virtual IReadOnlyList<string> HostArguments(ShimTestEnvironment env) =>
    [
        "--root", Path.Combine(env.Root, "root"),
        "--state-dir", env.StateDirectory,
        "--namespace", env.Namespace,
        "--runc-root", env.RuncRoot,
    ];

    private enum Kind
    {
        Running,
        ExitBefore,
        ExitDown,
        KilledDown,
        ShimKilled,
    }

    private sealed record Container(string Id, Kind Kind, int Index, int Cycle)
    {
        public uint? Pid { get; set; }
        public string? Bundle { get; set; }

        /// <summary>The metadata create returned; what every later generation must report.</summary>
        public JsonObject? Metadata { get; set; }

        public bool Deleted { get; set; }

        public Dictionary<string, string> Labels => new()
        {
            ["kind"] = Kind.ToString().ToLowerInvariant(),
            ["cycle"] = Cycle.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["index"] = Index.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["suite"] = "restart-cycle",
        };

        /// <summary>Null: any status the dead-shim cleanup reports (137 from the shim's delete, or 255).</summary>
        public uint? ExpectedExit => Kind switch
        {
            Kind.Running or Kind.KilledDown => 137,
            Kind.ExitBefore => (uint)(10 + Index),
            Kind.ExitDown => (uint)(20 + Index),
            _ => null,
        };

        public string[] Args => Kind switch
        {
            Kind.ExitBefore => ["sh", "-c", $"sleep 0.1; exit {10 + Index}"],
            Kind.ExitDown => ["sh", "-c", $"sleep 0.8; exit {20 + Index}"],
            _ => ["sleep", "1000"],
        };
    }

    protected async Task RunCyclesAsync()
    {
        var total = Stopwatch.StartNew();
        await using var env = new ShimTestEnvironment();
        var generations = new List<HostProcess>();
        var all = new List<Container>();
        try
        {
            var host = await StartHostAsync(env, generations);
            for (var cycle = 0; cycle < Cycles; cycle++)
            {
                var cycleWatch = Stopwatch.StartNew();
                var containers = Enum.GetValues<Kind>()
                    .SelectMany(kind => Enumerable.Range(0, PerKind).Select(i => new Container($"c{cycle}-{kind.ToString().ToLowerInvariant()}-{i}", kind, i, cycle)))
                    .ToList();
                all.AddRange(containers);

                // ---- generation N: create everything, start all but the exit-down ones, let exit-before exit ----
                await Task.WhenAll(containers.Select(async c =>
                {
                    var created = await host.CreateContainerAsync(c.Id, c.Args, ShimTestEnvironment.ImageDirectory, c.Labels);
                    c.Pid = created["pid"]!.GetValue<uint>();
                    c.Metadata = created["container"]!.AsObject();
                    AssertCreatedMetadata(c);
                    var bundle = Bundle.Load(env.StateDirectory, env.Namespace, c.Id);
                    c.Bundle = bundle.Path;
                    if (bundle.ReadAddress() is { } address) env.TrackAddress(address);
                }));
                await AssertMetadataAsync(host, all, $"cycle {cycle}, generation {host.Generation} after create");
                await Task.WhenAll(containers.Where(c => c.Kind != Kind.ExitDown).Select(c => host.StartTaskAsync(c.Id)));
                await EventuallyAsync(generations,
                    evs => containers.Where(c => c.Kind == Kind.ExitBefore).All(c => evs.Any(e => IsExitOf(e, c.Id))),
                    $"cycle {cycle}: exits of the exit-before containers in generation {host.Generation}");
                foreach (var c in containers.Where(c => c.Kind is Kind.KilledDown or Kind.Running))
                    Assert.Equal("running", (await host.StateAsync(c.Id))["status"]!.GetValue<string>());
                await Task.WhenAll(containers.Where(c => c.Kind == Kind.ExitDown).Select(c => host.StartTaskAsync(c.Id)));

                // ---- SIGKILL the host (only the host) ----
                await host.KillAsync();
                var down = Stopwatch.StartNew();

                // ---- while down: kill some inits, kill some shims, let the exit-down ones exit ----
                foreach (var c in containers.Where(c => c.Kind == Kind.KilledDown))
                    Assert.Equal(0, Signals.Kill((int)c.Pid!.Value, (int)SigKill));
                var shims = HostProcesses.All().Where(HostProcesses.IsShim).ToList();
                foreach (var c in containers.Where(c => c.Kind == Kind.ShimKilled))
                {
                    var shim = shims.Where(s => s.Cwd == c.Bundle).ToList();
                    Assert.True(shim.Count == 1, $"{c.Id}: expected one shim with cwd {c.Bundle}, found {shim.Count}");
                    Assert.Equal(0, Signals.Kill(shim[0].Pid, (int)SigKill));
                    await HostProcesses.WaitUntilGoneAsync(shim[0].Pid, TimeSpan.FromSeconds(5));
                }
                foreach (var c in containers.Where(c => c.Kind is Kind.KilledDown or Kind.ExitDown))
                    await HostProcesses.WaitUntilGoneAsync((int)c.Pid!.Value, TimeSpan.FromSeconds(5));
                var downFor = down.Elapsed;

                // ---- generation N+1 on the same directories ----
                host = await StartHostAsync(env, generations);
                var expectedReloaded = containers.Count(c => c.Kind != Kind.ShimKilled);
                Assert.True(host.Ready["reloaded"]!.GetValue<int>() == expectedReloaded &&
                            host.Ready["cleanedUp"]!.GetValue<int>() == PerKind,
                    $"cycle {cycle}: loaded {host.Ready.ToJsonString()}, expected reloaded={expectedReloaded} cleanedUp={PerKind}");
                // Metadata does not depend on the reload: it must all be back as soon as the host answers.
                await AssertMetadataAsync(host, all, $"cycle {cycle}, generation {host.Generation} right after the restart");

                // Every exit that happened while the host was down must arrive (the shims re-send theirs, the cleanup
                // publishes the dead shims'), then the listing and states must agree with reality.
                var mustExit = containers.Where(c => c.Kind is not Kind.Running).ToList();
                await EventuallyAsync(generations,
                    evs => mustExit.All(c => evs.Any(e => IsExitOf(e, c.Id))) &&
                           containers.Where(c => c.Kind == Kind.ShimKilled).All(c => evs.Any(e => e.ContainerId == c.Id && e.Topic == Topics.Delete)),
                    $"cycle {cycle}: exits of everything that stopped while generation {host.Generation - 1} was down");
                var listed = await host.ListAsync();
                var expectedListed = containers.Where(c => c.Kind != Kind.ShimKilled).Select(c => c.Id).ToHashSet();
                Assert.True(expectedListed.SetEquals(listed.Where(id => id.StartsWith($"c{cycle}-", StringComparison.Ordinal))),
                    $"cycle {cycle}: listed [{string.Join(", ", listed)}], expected [{string.Join(", ", expectedListed.Order())}]");
                Assert.Equal(expectedListed.Count, listed.Count);
                foreach (var c in containers.Where(c => c.Kind != Kind.ShimKilled))
                {
                    var state = await host.StateAsync(c.Id);
                    var status = state["status"]!.GetValue<string>();
                    if (c.Kind == Kind.Running)
                        Assert.True(status == "running", $"{c.Id}: {state.ToJsonString()}");
                    else
                        Assert.True(status == "stopped" && state["exitStatus"]!.GetValue<uint>() == c.ExpectedExit,
                            $"{c.Id}: state {state.ToJsonString()}, expected stopped with {c.ExpectedExit}");
                }
                foreach (var c in containers.Where(c => c.Kind == Kind.ShimKilled))
                {
                    var state = await Assert.ThrowsAsync<HostRequestException>(() => host.StateAsync(c.Id));
                    Assert.Equal("NotFound", state.Code);
                }
                AssertExactlyOnce(generations, all, final: false);

                // ---- stop the running ones through the API, then delete everything that exited ----
                await Task.WhenAll(containers.Where(c => c.Kind == Kind.Running).Select(async c =>
                {
                    await host.KillTaskAsync(c.Id, SigKill);
                    Assert.Equal(137u, await host.WaitTaskAsync(c.Id, TimeSpan.FromSeconds(10)));
                }));
                // Still all there after the dead-shim cleanups: a task's cleanup is not its container's deletion.
                await AssertMetadataAsync(host, all, $"cycle {cycle}, generation {host.Generation} after the cleanups");
                await Task.WhenAll(containers.Select(async c =>
                {
                    var deleted = await host.DeleteContainerAsync(c.Id);
                    if (c.Kind == Kind.ShimKilled)
                        Assert.True(deleted["task"]!.GetValue<bool>() == false, $"{c.Id}: delete {deleted.ToJsonString()}");
                    else
                        Assert.True(deleted["task"]!.GetValue<bool>() && deleted["exitStatus"]!.GetValue<uint>() == c.ExpectedExit,
                            $"{c.Id}: delete {deleted.ToJsonString()}, expected the task deleted with {c.ExpectedExit}");
                    c.Deleted = true;
                }));
                Assert.Empty(await host.ListAsync());
                await AssertMetadataAsync(host, all, $"cycle {cycle}, generation {host.Generation} after the deletes");
                Output.WriteLine($"cycle {cycle}: {cycleWatch.Elapsed.TotalSeconds:F1}s (host down {downFor.TotalMilliseconds:F0} ms, " +
                                 $"g{host.Generation} ready in {host.TimeToReady.TotalMilliseconds:F0} ms, load {host.Ready["loadMs"]} ms)");
            }

            await EventuallyAsync(generations, evs => all.All(c => evs.Count(e => e.ContainerId == c.Id && e.Topic == Topics.Delete) >= 1),
                "a delete event for every container");
            await Task.Delay(300); // anything late (a duplicate) has a moment to show up
            AssertExactlyOnce(generations, all, final: true);
            await host.KillAsync();
        }
        catch
        {
            foreach (var g in generations)
                Output.WriteLine($"--- generation {g.Generation} stderr ---\n{g.StderrTail}");
            throw;
        }
        finally
        {
            foreach (var g in generations) await g.DisposeAsync();
        }
        Output.WriteLine($"{Cycles} cycles, {all.Count} containers, {generations.Count} host generations, {total.Elapsed.TotalSeconds:F1}s; " +
                         $"{generations.Sum(g => g.Events.Count)} events");
        await LeakCheck.AssertCleanAsync(env);
    }

    private static void AssertCreatedMetadata(Container c)
    {
        var m = c.Metadata!;
        var labels = m["labels"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>());
        Assert.True(m["id"]!.GetValue<string>() == c.Id && labels.Count == c.Labels.Count &&
                    c.Labels.All(kv => labels.GetValueOrDefault(kv.Key) == kv.Value) &&
                    m["runtime"]!.GetValue<string>() == "io.containerd.runc.v2" &&
                    m["specSha256"]!.GetValue<string>().Length == 64 &&
                    m["createdAt"]!.GetValue<string>() == m["updatedAt"]!.GetValue<string>(),
            $"{c.Id}: create returned metadata {m.ToJsonString()}");
    }

    /// <summary>
    /// No lost container metadata: the host lists exactly the containers not yet deleted, each identical to what its
    /// create returned; <c>container</c> finds each of them and none of the deleted ones.
    /// </summary>
    private static async Task AssertMetadataAsync(HostProcess host, IReadOnlyList<Container> all, string when)
    {
        var listed = await host.ContainersAsync();
        var problems = new List<string>();
        var byId = listed.ToDictionary(m => m["id"]!.GetValue<string>());
        foreach (var c in all.Where(c => !c.Deleted && c.Metadata is not null))
        {
            if (!byId.TryGetValue(c.Id, out var actual))
                problems.Add($"{c.Id}: metadata lost");
            else if (!JsonNode.DeepEquals(c.Metadata, actual))
                problems.Add($"{c.Id}: metadata changed: {c.Metadata!.ToJsonString()} -> {actual.ToJsonString()}");
        }
        foreach (var id in byId.Keys.Where(id => !all.Any(c => c.Id == id && !c.Deleted)))
            problems.Add($"{id}: listed, but {(all.Any(c => c.Id == id) ? "it was deleted" : "never created")}");
        await Task.WhenAll(all.Where(c => c.Metadata is not null).Select(async c =>
        {
            try
            {
                var got = await host.ContainerAsync(c.Id);
                if (c.Deleted) lock (problems) problems.Add($"{c.Id}: deleted, but container returns {got.ToJsonString()}");
                else if (!JsonNode.DeepEquals(c.Metadata, got))
                    lock (problems) problems.Add($"{c.Id}: container returns {got.ToJsonString()}, created as {c.Metadata!.ToJsonString()}");
            }
            catch (HostRequestException e) when (e.Code == "NotFound")
            {
                if (!c.Deleted) lock (problems) problems.Add($"{c.Id}: container is NotFound");
            }
        }));
        Assert.True(problems.Count == 0, $"{when} (g{host.Generation}):\n" + string.Join("\n", problems));
    }

    private async Task<HostProcess> StartHostAsync(ShimTestEnvironment env, List<HostProcess> generations)
    {
        var host = await HostProcess.StartAsync(HostArguments(env), generations.Count, ReadyTimeout);
        generations.Add(host);
        Output.WriteLine($"generation {host.Generation}: pid {host.Pid}, {host.Ready.ToJsonString()}");
        return host;
    }

    /// <summary>The journal as the hosts saw it: one entry per offset, attributed to the generation that saw it first.</summary>
    private static List<HostEvent> Journal(IReadOnlyList<HostProcess> generations) =>
        generations.SelectMany(g => g.Events).GroupBy(e => e.Offset).Select(g => g.OrderBy(e => e.Generation).First())
            .OrderBy(e => e.Offset).ToList();

    private static bool IsExitOf(HostEvent e, string id) => e.ContainerId == id && e.ExecId.Length == 0 && e.Topic == Topics.Exit;

    /// <summary>
    /// Exactly once, across generations: at most one exit per run (each ids is one run), with the expected status; a
    /// delete (at most one) agrees with the exit. With <paramref name="final"/> every run must have both. Every host
    /// replays the journal from offset 0, so the same event seen by two generations has one offset and counts once;
    /// a second publish would have its own offset.
    /// </summary>
    private static void AssertExactlyOnce(IReadOnlyList<HostProcess> generations, IReadOnlyList<Container> containers, bool final)
    {
        var events = Journal(generations);
        var problems = new List<string>();
        foreach (var c in containers)
        {
            var exits = events.Where(e => IsExitOf(e, c.Id)).ToList();
            var deletes = events.Where(e => e.ContainerId == c.Id && e.Topic == Topics.Delete).ToList();
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
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private static Task EventuallyAsync(IReadOnlyList<HostProcess> generations, Func<IReadOnlyList<HostEvent>, bool> condition, string what) =>
        Eventually.EventuallyAsync(() => condition(Journal(generations)), what, EventTimeout,
            () => string.Join("\n", generations.SelectMany(g => g.Events)));
}
