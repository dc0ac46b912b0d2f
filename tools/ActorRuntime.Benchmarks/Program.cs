using System.Globalization;
using System.Text.Json;
using ActorRuntime.Benchmarks;

// actorruntime-bench restart [--n 100] [--parallel 8] [--json] [--skip-containerd]
// actorruntime-bench events [--n 2000] [--warmup 200] [--store sqlite|inmem] [--json]
// actorruntime-bench lifecycle [--n 100] [--parallel 100] [--workers 5] [--running 100] [--warmup 5] [--json] [--skip-containerd]
// actorruntime-bench soak [--lifecycles 500] [--seed 42]
// actorruntime-bench crash-walk [--only NAME]... [--event-retention MS]
// actorruntime-bench clients [--runs 50] [--warmup 5] ... (ClientsCommand.Usage)
// actorruntime-bench cluster [--calls 500] [--containers 30] [--parallel 6] [--json] (ClusterBenchmark.Usage)
const string Usage = """
    usage: actorruntime-bench restart [--n 100] [--parallel 8] [--json] [--skip-containerd]
           actorruntime-bench events [--n 2000] [--warmup 200] [--store sqlite|inmem] [--json]
           actorruntime-bench lifecycle [--n 100] [--parallel 100] [--workers 5] [--running 100] [--warmup 5] [--json] [--skip-containerd]
           actorruntime-bench soak [--lifecycles 500] [--seed 42]
           actorruntime-bench crash-walk [--only NAME]... [--event-retention MS]
           actorruntime-bench clients [--runs 50] [--warmup 5] [--parallel 50] [--workers 5] [--docker-runs 20] [--exec-rounds 6] [--execs 20] [--running 100] [--skip-docker] [--json]
           actorruntime-bench cluster [--calls 500] [--containers 30] [--parallel 6] [--json]
    """;
if (args.Length == 0 || args[0] is not ("restart" or "events" or "lifecycle" or "soak" or "crash-walk" or "clients" or "cluster"))
{
    Console.Error.WriteLine(Usage);
    return 2;
}
if (args[0] == "events") return await EventsBenchmark(args);
if (args[0] == "lifecycle") return await LifecycleCommand.RunAsync(args[1..]);
if (args[0] == "clients") return await ClientsCommand.RunAsync(args[1..]);
if (args[0] == "cluster") return await ClusterBenchmark.RunAsync(args[1..]);
if (args[0] is "soak" or "crash-walk" && !Environment.IsPrivilegedProcess)
{
    Console.Error.WriteLine("actorruntime-bench drives runc: run it as root");
    return 2;
}
if (args[0] == "soak") return await SoakCommand(args);
if (args[0] == "crash-walk") return await CrashWalk.RunAsync(args.Skip(1).ToList(), Console.Out, Console.Error);
var n = 100;
var parallel = 8;
bool json = false, skipContainerd = false;
for (var i = 1; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--n": n = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--parallel": parallel = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--json": json = true; break;
        case "--skip-containerd": skipContainerd = true; break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}
if (!Environment.IsPrivilegedProcess)
{
    Console.Error.WriteLine("actorruntime-bench drives runc and containerd: run it as root");
    return 2;
}

var log = Console.Error;
var results = new List<RestartResult> { await ActorRuntimeRestart.RunAsync(n, parallel, log) };
if (!skipContainerd) results.Add(await ContainerdRestart.RunAsync(n, parallel, log));

if (json)
{
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        scenario = "restart",
        containers = n,
        parallel,
        machine = new { cores = Environment.ProcessorCount, kernel = Environment.OSVersion.VersionString },
        results,
    }, new JsonSerializerOptions { WriteIndented = true }));
    return 0;
}

var ar = results[0];
var cd = results.Count > 1 ? results[1] : null;
string Ms(double? v) => v is { } x ? $"{x:F0} ms" : "–";
Console.WriteLine($"restart benchmark: N={n} running busybox containers, {Environment.ProcessorCount} cores, clients {parallel} at a time");
Console.WriteLine();
Console.WriteLine("| scenario | ActorRuntime | containerd |");
Console.WriteLine("| --- | ---: | ---: |");
void Row(string name, Func<RestartResult, double?> f) => Console.WriteLine($"| {name} | {Ms(f(ar))} | {(cd is null ? "not run" : Ms(f(cd)))} |");
Row($"create + start {n} containers", r => r.CreateStartAllMs);
Row("restart: spawn → API answers", r => r.SpawnToApiReadyMs);
Row($"restart: spawn → all {n} reloaded (AwaitLoaded / `ctr task ls` all RUNNING)", r => r.SpawnToAllReloadedMs);
Row($"restart: spawn → every task answered state (`state` / `ctr task ps`)", r => r.SpawnToAllStateMs);
Row("reload phase alone (AwaitLoaded inside the host)", r => r.ReloadPhaseMs);
Row($"clean-up: kill + delete {n}", r => r.CleanupMs);
Console.WriteLine();
foreach (var r in results) Console.WriteLine($"- {r.Runtime}: {r.Notes}");
return 0;

static async Task<int> EventsBenchmark(string[] args)
{
    var n = 2000;
    var warmup = 200;
    var json = false;
    var store = ActorRuntime.Store.PersistenceProvider.Sqlite;
    for (var i = 1; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--n": n = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
            case "--warmup": warmup = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
            case "--store" when args[i + 1] is "sqlite" or "inmem":
                store = args[++i] == "inmem" ? ActorRuntime.Store.PersistenceProvider.InMemory : ActorRuntime.Store.PersistenceProvider.Sqlite;
                break;
            case "--json": json = true; break;
            default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
        }
    }
    var r = await EventLatency.RunAsync(n, warmup, store, Console.Error);
    if (json)
    {
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            scenario = "event-latency",
            machine = new { cores = Environment.ProcessorCount, kernel = Environment.OSVersion.VersionString },
            result = r,
        }, new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }
    Console.WriteLine($"event latency: publish → actor subscriber, {r.Store} store, one event in flight, {r.Events} events after {r.Warmup} warm-up, {Environment.ProcessorCount} cores");
    Console.WriteLine();
    Console.WriteLine("| p50 | p90 | p99 | max | mean |");
    Console.WriteLine("| ---: | ---: | ---: | ---: | ---: |");
    Console.WriteLine($"| {r.P50Ms:F2} ms | {r.P90Ms:F2} ms | {r.P99Ms:F2} ms | {r.MaxMs:F2} ms | {r.MeanMs:F2} ms |");
    return 0;
}

static async Task<int> SoakCommand(string[] args)
{
    var lifecycles = 500;
    var seed = 42;
    for (var i = 1; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--lifecycles": lifecycles = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
            case "--seed": seed = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
            default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
        }
    }
    var r = await Soak.RunAsync(lifecycles, seed, Console.Error);
    foreach (var problem in r.Problems.Take(50)) Console.Error.WriteLine($"[soak] {problem}");
    Console.WriteLine($"soak: {r.Lifecycles} container lifecycles, seed {r.Seed}, {r.Generations} runtime generations, " +
                      $"{r.Seconds:F0} s, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}");
    Console.WriteLine($"faults: {string.Join(", ", r.Faults.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value}"))}");
    Console.WriteLine();
    Console.WriteLine("| lost exits | duplicated exits | wrong-status exits | leaked shims | leaked bundles | leaked FIFOs | other leaks |");
    Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    Console.WriteLine($"| {r.Lost} | {r.Duplicated} | {r.WrongStatus} | {r.LeakedShims} | {r.LeakedBundles} | {r.LeakedFifos} | {r.LeakedOther} |");
    return r.Clean ? 0 : 1;
}
