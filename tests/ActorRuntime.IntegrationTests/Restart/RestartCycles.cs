using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using ActorRuntime.Events;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Shims;
using ActorRuntime.Testing;
using Xunit.Abstractions;

namespace ActorRuntime.IntegrationTests.Restart;

/// <summary>What a container of a cycle is put through (<see cref="RestartCycles.PerKind"/> of each per cycle).</summary>
public enum ContainerKind
{
    /// <summary><c>sleep</c>; still running after the restart, then SIGKILLed through the API (137).</summary>
    Running,

    /// <summary><c>sleep 0.1; exit 10+i</c>: exits, and is seen to, before the host is killed.</summary>
    ExitBefore,

    /// <summary><c>sleep 0.8; exit 20+i</c>: exits while no host runs.</summary>
    ExitDown,

    /// <summary>Its init is SIGKILLed while no host runs (137).</summary>
    KilledDown,

    /// <summary>Its shim is SIGKILLed while no host runs: the next host cleans up and publishes exit and delete.</summary>
    ShimKilled,
}

/// <summary>Where actorruntime-host keeps its store.</summary>
public enum HostStore
{
    /// <summary>The default: SQLite under --root.</summary>
    Sqlite,

    /// <summary>A throwaway PostgreSQL 15 on a free loopback port (<see cref="PostgreSqlServer"/>).</summary>
    PostgreSql,
}

/// <summary>One container of a cycle, and what the hosts answered about it.</summary>
public sealed class CycleContainer(int cycle, ContainerKind kind, int index)
{
    public string Id { get; } = $"c{cycle}-{kind.ToString().ToLowerInvariant()}-{index}";
    public ContainerKind Kind { get; } = kind;

    public IReadOnlyDictionary<string, string> Labels { get; } = new Dictionary<string, string>
    {
        ["kind"] = kind.ToString().ToLowerInvariant(),
        ["cycle"] = cycle.ToString(CultureInfo.InvariantCulture),
        ["index"] = index.ToString(CultureInfo.InvariantCulture),
        ["suite"] = "restart-cycle",
    };

    /// <summary>The status its run must end with; null: any the dead-shim cleanup reports (137 from the shim's delete, or 255).</summary>
    public uint? ExpectedExit { get; } = kind switch
    {
        ContainerKind.Running or ContainerKind.KilledDown => 137,
        ContainerKind.ExitBefore => (uint)(10 + index),
        ContainerKind.ExitDown => (uint)(20 + index),
        _ => null,
    };

    public IReadOnlyList<string> Args { get; } = kind switch
    {
        ContainerKind.ExitBefore => ["sh", "-c", $"sleep 0.1; exit {10 + index}"],
        ContainerKind.ExitDown => ["sh", "-c", $"sleep 0.8; exit {20 + index}"],
        _ => ["sleep", "1000"],
    };

    /// <summary>
    /// Its execs: a running container has "done" (exits 7 and is waited for before the host is killed, deleted only after
    /// the restart), "live" (<c>sleep</c>; an exec-kill is in flight when the host is killed: 137) and "late" (its start
    /// is in flight when the host is killed; if it started it exits 9 on its own); a shim-killed one has "live", which
    /// dies with its shim (137 or 255).
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Execs { get; } = kind switch
    {
        ContainerKind.Running => new Dictionary<string, IReadOnlyList<string>>
        {
            ["done"] = ["sh", "-c", "exit 7"],
            ["live"] = ["sleep", "1000"],
            ["late"] = ["sh", "-c", "sleep 0.3; exit 9"],
        },
        ContainerKind.ShimKilled => new Dictionary<string, IReadOnlyList<string>> { ["live"] = ["sleep", "1000"] },
        _ => new Dictionary<string, IReadOnlyList<string>>(),
    };

    /// <summary>The statuses an exec's run may end with; "late" may also never have started.</summary>
    public IReadOnlySet<uint> ExecStatuses(string execId) => (Kind, execId) switch
    {
        (_, "done") => new HashSet<uint> { 7 },
        (_, "late") => new HashSet<uint> { 9 },
        (ContainerKind.ShimKilled, _) => new HashSet<uint> { 137, 255 },
        _ => new HashSet<uint> { 137 },
    };

    /// <summary>The metadata create returned: what every later generation must report until the container is deleted.</summary>
    public JsonObject? Created { get; internal set; }

    /// <summary>Right after the restart: "running", "stopped &lt;exit status&gt;", or "NotFound".</summary>
    public string? StateAfterRestart { get; internal set; }

    /// <summary>What Wait returned after the restart and a SIGKILL through the API (running containers only).</summary>
    public uint? ExitAfterApiKill { get; internal set; }

    /// <summary>What delete answered: "task deleted, exit &lt;status&gt;", or "no task" when the task was already gone.</summary>
    public string? Delete { get; internal set; }

    internal uint Pid { get; set; }
    internal string? Bundle { get; set; }
    internal bool Deleted { get; set; }
}

/// <summary>What one cycle observed; the spec decides whether that is right.</summary>
/// <param name="Reloaded">Shims the new host generation reloaded (its readiness line).</param>
/// <param name="CleanedUp">Dead shims it cleaned up.</param>
/// <param name="ListedAfterRestart">The task list of the new generation once every exit of the down time arrived.</param>
/// <param name="JournalAfterRestart">The events all generations streamed by then, one per offset.</param>
/// <param name="MetadataDifferences">
/// Each time metadata was compared to what create returned (after create, right after the restart, after the cleanups,
/// after the deletes): every container listed or found that should not be, missing that should be, or changed.
/// </param>
/// <param name="ListedAfterDeletes">The task list once every container of the cycle was deleted.</param>
public sealed record CycleReport(
    IReadOnlyList<CycleContainer> Containers,
    int Reloaded,
    int CleanedUp,
    IReadOnlyList<string> ListedAfterRestart,
    IReadOnlyList<HostEvent> JournalAfterRestart,
    IReadOnlyList<string> MetadataDifferences,
    IReadOnlyList<string> ListedAfterDeletes);

/// <summary>
/// Drives restart cycles against real actorruntime-host processes on one root/state directory and reports what they
/// answered, asserting nothing itself (<see cref="RestartCycleSpec"/> does). In every cycle generation N creates
/// <see cref="PerKind"/> containers of each <see cref="ContainerKind"/> and starts them, is SIGKILLed (its shims keep
/// running), things happen while no host runs, generation N+1 starts on the same directories, and every container is
/// stopped and deleted. It throws only when the scenario itself cannot be carried out.
/// </summary>
public sealed class RestartCycles : IAsyncDisposable
{
    public const int PerKind = 4;
    private const uint SigKill = 9;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(25);

    private readonly ShimTestEnvironment _env;
    private readonly IReadOnlyList<string> _hostArguments;
    private readonly ITestOutputHelper _output;
    private readonly PostgreSqlServer? _database;
    private readonly List<HostProcess> _generations = [];
    private readonly List<CycleContainer> _containers = [];
    private readonly Stopwatch _total = Stopwatch.StartNew();
    private bool _finished;

    private RestartCycles(ShimTestEnvironment env, IReadOnlyList<string> hostArguments, ITestOutputHelper output,
        PostgreSqlServer? database)
    {
        _env = env;
        _hostArguments = hostArguments;
        _output = output;
        _database = database;
    }

    /// <summary>Every container of every cycle so far.</summary>
    public IReadOnlyList<CycleContainer> Containers => _containers;

    private HostProcess Host => _generations[^1];

    /// <summary>Starts the store (PostgreSQL: a server of its own, fails if it cannot) and host generation 0.</summary>
    public static async Task<RestartCycles> StartAsync(ShimTestEnvironment env, HostStore store, ITestOutputHelper output)
    {
        PostgreSqlServer? database = null;
        if (store == HostStore.PostgreSql)
        {
            database = new PostgreSqlServer();
            await database.InitializeAsync();
        }
        List<string> arguments =
        [
            "--root", Path.Combine(env.Root, "root"),
            "--state-dir", env.StateDirectory,
            "--namespace", env.Namespace,
            "--runc-root", env.RuncRoot,
            "--event-retention", "1000",
        ];
        if (database is not null) arguments.AddRange(["--db-provider", "postgresql", "--db-connection", database.ConnectionString]);
        var cycles = new RestartCycles(env, arguments, output, database);
        try
        {
            await cycles.StartGenerationAsync();
        }
        catch
        {
            await cycles.DisposeAsync();
            throw;
        }
        return cycles;
    }

    /// <summary>One cycle: ends with every container of the cycle deleted and the latest host generation running.</summary>
    public async Task<CycleReport> RunCycleAsync(int cycle)
    {
        var watch = Stopwatch.StartNew();
        var containers = Enum.GetValues<ContainerKind>()
            .SelectMany(kind => Enumerable.Range(0, PerKind).Select(i => new CycleContainer(cycle, kind, i)))
            .ToList();
        _containers.AddRange(containers);
        var metadata = new List<string>();
        bool Of(CycleContainer c, params ContainerKind[] kinds) => kinds.Contains(c.Kind);

        // ---- generation N: create everything, start all but the exit-down ones, let exit-before exit ----
        await Task.WhenAll(containers.Select(async c =>
        {
            var created = await Host.CreateContainerAsync(c.Id, c.Args, ShimTestEnvironment.ImageDirectory, c.Labels);
            c.Pid = created["pid"]!.GetValue<uint>();
            c.Created = created["container"]!.AsObject();
            var bundle = Bundle.Load(_env.StateDirectory, _env.Namespace, c.Id);
            c.Bundle = bundle.Path;
            if (bundle.ReadAddress() is { } address) _env.TrackAddress(address);
        }));
        metadata.AddRange(await MetadataDifferencesAsync($"cycle {cycle}, generation {Host.Generation} after create"));
        await Task.WhenAll(containers.Where(c => !Of(c, ContainerKind.ExitDown)).Select(c => Host.StartTaskAsync(c.Id)));
        await ExitsPublishedAsync(containers.Where(c => Of(c, ContainerKind.ExitBefore)),
            $"cycle {cycle}: exits of the exit-before containers in generation {Host.Generation}");
        foreach (var c in containers.Where(c => Of(c, ContainerKind.KilledDown, ContainerKind.Running)))
            if ((await Host.StateAsync(c.Id))["status"]!.GetValue<string>() is var status and not "running")
                throw new InvalidOperationException($"{c.Id} is {status} before the host is killed, not running");
        await Task.WhenAll(containers.Where(c => Of(c, ContainerKind.ExitDown)).Select(c => Host.StartTaskAsync(c.Id)));
        await Task.WhenAll(containers.Where(c => c.Execs.Count > 0).Select(async c =>
        {
            foreach (var (execId, args) in c.Execs) await Host.ExecAsync(c.Id, execId, args);
            await Host.StartExecAsync(c.Id, "live");
            if (!c.Execs.ContainsKey("done")) return;
            await Host.StartExecAsync(c.Id, "done");
            await Host.WaitExecAsync(c.Id, "done", TimeSpan.FromSeconds(10));
        }));
        await EventuallyAsync(() => containers.Where(c => c.Execs.ContainsKey("done"))
                .All(c => Journal().Any(e => e.ContainerId == c.Id && e.ExecId == "done" && e.Topic == Topics.Exit)),
            $"cycle {cycle}: exits of the done execs in generation {Host.Generation}", EventTimeout, AllEvents);

        // ---- SIGKILL the host (only the host) in the middle of exec kills and starts; while down: kill some inits,
        // kill some shims, let exit-down exit ----
        var interrupted = containers.Where(c => Of(c, ContainerKind.Running))
            .SelectMany(c => new[] { Host.KillExecAsync(c.Id, "live", SigKill), Host.StartExecAsync(c.Id, "late") })
            .Select(InterruptedAsync)
            .ToList();
        await Task.Delay(Random.Shared.Next(0, 30));
        await Host.KillAsync();
        await Task.WhenAll(interrupted);
        var down = Stopwatch.StartNew();
        foreach (var c in containers.Where(c => Of(c, ContainerKind.KilledDown)))
            SignalOrThrow((int)c.Pid, $"{c.Id}'s init");
        var shims = HostProcesses.All().Where(HostProcesses.IsShim).ToList();
        foreach (var c in containers.Where(c => Of(c, ContainerKind.ShimKilled)))
        {
            var shim = shims.Where(s => s.Cwd == c.Bundle).ToList();
            if (shim.Count != 1) throw new InvalidOperationException($"{c.Id}: expected one shim with cwd {c.Bundle}, found {shim.Count}");
            SignalOrThrow(shim[0].Pid, $"{c.Id}'s shim");
            await HostProcesses.WaitUntilGoneAsync(shim[0].Pid, TimeSpan.FromSeconds(5));
        }
        foreach (var c in containers.Where(c => Of(c, ContainerKind.KilledDown, ContainerKind.ExitDown)))
            await HostProcesses.WaitUntilGoneAsync((int)c.Pid, TimeSpan.FromSeconds(5));
        var downFor = down.Elapsed;

        // ---- generation N+1 on the same directories ----
        await StartGenerationAsync();
        metadata.AddRange(await MetadataDifferencesAsync($"cycle {cycle}, generation {Host.Generation} right after the restart"));
        // Whatever stopped while no host ran must be published (the shims re-send their exits, the cleanups publish
        // exit and delete of the dead shims') before listing and states are compared with reality.
        await ExitsPublishedAsync(containers.Where(c => !Of(c, ContainerKind.Running)),
            $"cycle {cycle}: exits of everything that stopped while generation {Host.Generation - 1} was down",
            also: events => containers.Where(c => Of(c, ContainerKind.ShimKilled))
                .All(c => events.Any(e => e.ContainerId == c.Id && e.Topic == Topics.Delete)));
        var listedAfterRestart = await Host.ListAsync();
        foreach (var c in containers) c.StateAfterRestart = await StateAsync(c.Id);
        var journalAfterRestart = Journal();

        // ---- stop the running ones through the API (their execs go with them), then delete everything ----
        await Task.WhenAll(containers.Where(c => Of(c, ContainerKind.Running)).Select(async c =>
        {
            await Host.KillTaskAsync(c.Id, SigKill);
            c.ExitAfterApiKill = await Host.WaitTaskAsync(c.Id, TimeSpan.FromSeconds(10));
            foreach (var execId in c.Execs.Keys) await Host.DeleteExecAsync(c.Id, execId);
        }));
        // A task's cleanup is not its container's deletion: the shim-killed ones' metadata must still be there.
        metadata.AddRange(await MetadataDifferencesAsync($"cycle {cycle}, generation {Host.Generation} after the cleanups"));
        await Task.WhenAll(containers.Select(async c =>
        {
            var deleted = await Host.DeleteContainerAsync(c.Id);
            c.Delete = deleted["task"]!.GetValue<bool>() ? $"task deleted, exit {deleted["exitStatus"]}" : "no task";
            c.Deleted = true;
        }));
        var listedAfterDeletes = await Host.ListAsync();
        metadata.AddRange(await MetadataDifferencesAsync($"cycle {cycle}, generation {Host.Generation} after the deletes"));

        _output.WriteLine($"cycle {cycle}: {watch.Elapsed.TotalSeconds:F1}s (host down {downFor.TotalMilliseconds:F0} ms, " +
                          $"g{Host.Generation} ready in {Host.TimeToReady.TotalMilliseconds:F0} ms, load {Host.Ready["loadMs"]} ms)");
        return new CycleReport(containers, Host.Ready["reloaded"]!.GetValue<int>(), Host.Ready["cleanedUp"]!.GetValue<int>(),
            listedAfterRestart, journalAfterRestart, metadata, listedAfterDeletes);
    }

    /// <summary>
    /// Waits for the delete event of every container, gives a late duplicate a moment to show up, stops the last host,
    /// and returns the journal: every event all generations streamed, one per offset.
    /// </summary>
    public async Task<IReadOnlyList<HostEvent>> FinishAsync()
    {
        await EventuallyAsync(() => _containers.All(c => Journal().Any(e => e.ContainerId == c.Id && e.Topic == Topics.Delete)),
            "a delete event for every container", EventTimeout, AllEvents);
        await Task.Delay(300);
        await Host.KillAsync();
        _finished = true;
        _output.WriteLine($"{_containers.Count} containers, {_generations.Count} host generations, " +
                          $"{_total.Elapsed.TotalSeconds:F1}s; {_generations.Sum(g => g.Events.Count)} events");
        return Journal();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_finished)
            foreach (var g in _generations)
                _output.WriteLine($"--- generation {g.Generation} stderr ---\n{g.StderrTail}");
        foreach (var g in _generations) await g.DisposeAsync();
        if (_database is not null) await _database.DisposeAsync();
    }

    private async Task StartGenerationAsync()
    {
        var host = await HostProcess.StartAsync(_hostArguments, _generations.Count, ReadyTimeout);
        _generations.Add(host);
        _output.WriteLine($"generation {host.Generation}: pid {host.Pid}, {host.Ready.ToJsonString()}");
    }

    /// <summary>
    /// The journal as the hosts saw it: one entry per offset, attributed to the generation that saw it first. Every host
    /// replays the journal from offset 0, so an event seen by two generations has one offset and counts once; a second
    /// publish would have an offset of its own.
    /// </summary>
    private List<HostEvent> Journal() =>
        _generations.SelectMany(g => g.Events).GroupBy(e => e.Offset).Select(g => g.OrderBy(e => e.Generation).First())
            .OrderBy(e => e.Offset).ToList();

    private string AllEvents() => string.Join("\n", _generations.SelectMany(g => g.Events));

    private Task ExitsPublishedAsync(IEnumerable<CycleContainer> containers, string what,
        Func<IReadOnlyList<HostEvent>, bool>? also = null)
    {
        var ids = containers.Select(c => c.Id).ToList();
        return EventuallyAsync(() =>
        {
            var journal = Journal();
            return ids.All(id => journal.Any(e => e.ContainerId == id && e.ExecId.Length == 0 && e.Topic == Topics.Exit)) &&
                   (also?.Invoke(journal) ?? true);
        }, what, EventTimeout, AllEvents);
    }

    private async Task<string> StateAsync(string id)
    {
        try
        {
            var state = await Host.StateAsync(id);
            var status = state["status"]!.GetValue<string>();
            return status == "running" ? status : $"{status} {state["exitStatus"]}";
        }
        catch (HostRequestException e) when (e.Code == "NotFound")
        {
            return e.Code;
        }
    }

    /// <summary>A request the host's SIGKILL may cut short: whatever it answered, or that it did not, is fine.</summary>
    private static async Task InterruptedAsync(Task request)
    {
        try
        {
            await request;
        }
        catch (Exception e) when (e is HostRequestException or InvalidOperationException or TimeoutException or IOException)
        {
        }
    }

    private static void SignalOrThrow(int pid, string what)
    {
        if (Signals.Kill(pid, (int)SigKill) != 0)
            throw new InvalidOperationException($"kill -9 {pid} ({what}) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
    }

    /// <summary>
    /// No lost container metadata: the host lists exactly the containers created and not yet deleted, each identical to
    /// what its create returned; <c>container</c> finds each of them and none of the deleted ones.
    /// </summary>
    private async Task<IReadOnlyList<string>> MetadataDifferencesAsync(string when)
    {
        var created = _containers.Where(c => c.Created is not null).ToList();
        var problems = new List<string>();
        var listed = (await Host.ContainersAsync()).ToDictionary(m => m["id"]!.GetValue<string>());
        foreach (var c in created.Where(c => !c.Deleted))
        {
            if (!listed.TryGetValue(c.Id, out var actual))
                problems.Add($"{c.Id}: metadata lost");
            else if (!JsonNode.DeepEquals(c.Created, actual))
                problems.Add($"{c.Id}: metadata changed: {c.Created!.ToJsonString()} -> {actual.ToJsonString()}");
        }
        foreach (var id in listed.Keys.Where(id => !created.Any(c => c.Id == id && !c.Deleted)))
            problems.Add($"{id}: listed, but {(created.Any(c => c.Id == id) ? "it was deleted" : "never created")}");
        await Task.WhenAll(created.Select(async c =>
        {
            try
            {
                var found = await Host.ContainerAsync(c.Id);
                if (c.Deleted) lock (problems) problems.Add($"{c.Id}: deleted, but container returns {found.ToJsonString()}");
                else if (!JsonNode.DeepEquals(c.Created, found))
                    lock (problems) problems.Add($"{c.Id}: container returns {found.ToJsonString()}, created as {c.Created!.ToJsonString()}");
            }
            catch (HostRequestException e) when (e.Code == "NotFound")
            {
                if (!c.Deleted) lock (problems) problems.Add($"{c.Id}: container is NotFound");
            }
        }));
        return problems.Select(p => $"{when} (g{Host.Generation}): {p}").ToList();
    }
}
