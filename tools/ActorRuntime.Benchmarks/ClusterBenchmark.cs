using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ActorRuntime.Client;
using ActorRuntime.Oci;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Testing;

namespace ActorRuntime.Benchmarks;

/// <summary>
/// <c>actorruntime-bench cluster</c>: three actorruntimed nodes on this machine over one PostgreSQL (<see cref="ThreeNodeCluster"/>),
/// driven through their containerd API. It measures what clustering adds: a state call on a container of another node
/// against one of the caller's own node; create-and-start throughput with every container on one node against spread
/// over three; and the time from a node's SIGKILL until a call for its container answers Unavailable naming it.
/// containerd has no cluster mode, so there is no containerd column here.
/// </summary>
internal static class ClusterBenchmark
{
    public const string Usage = "actorruntime-bench cluster [--calls 2000] [--containers 30] [--parallel 6] [--config FILE] [--json]";

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);

    public static async Task<int> RunAsync(string[] args)
    {
        int calls = 2000, containers = 30, parallel = 6;
        var json = false;
        var extra = "";
        for (var i = 0; i < args.Length; i++)
        {
            int Next() => int.Parse(args[++i], CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--calls": calls = Next(); break;
                case "--containers": containers = Next(); break;
                case "--parallel": parallel = Next(); break;
                case "--json": json = true; break;
                // More HOCON for every node (a tuning experiment), after the benchmark's own.
                case "--config": extra = File.ReadAllText(args[++i]); break;
                default: Console.Error.WriteLine($"unknown option {args[i]}\nusage: {Usage}"); return 2;
            }
        }
        if (calls < 10 || containers < 3 || parallel < 1)
        {
            Console.Error.WriteLine($"--calls at least 10, --containers at least 3, --parallel at least 1\nusage: {Usage}");
            return 2;
        }
        if (!Environment.IsPrivilegedProcess)
        {
            Console.Error.WriteLine("actorruntime-bench cluster drives runc: run it as root");
            return 2;
        }

        var log = Console.Error;
        var image = BusyboxImage.Ensure("/var/tmp/actorruntime-bench-busybox");
        log.WriteLine("cluster: starting PostgreSQL and three actorruntimed nodes");
        // Shorter downing than the defaults (20 s, 20 s), so the killed node is removed and back in seconds; failure
        // detection, which the SIGKILL figure measures, keeps Akka's defaults.
        await using var cluster = await ThreeNodeCluster.StartAsync("/run/actorruntime-bench", Bound, """
            actor-runtime.cluster.split-brain-resolver.stable-after = 5s
            actor-runtime.cluster.down-removal-margin = 2s
            """ + "\n" + extra);
        var rootfs = new[] { BusyboxImage.BindMount(image) };

        async Task RunAsync(int via, string id, string placement)
        {
            var spec = OciSpec.ConfigJson(cluster.Namespace, id, new OciContainerSpec(["sleep", "600"]));
            await ThreeNodeCluster.UntilUpAsync(() => cluster.Client(via).CreateAsync(new NewContainer(id, spec,
                Labels: new Dictionary<string, string> { [ThreeNodeCluster.PlacementLabel] = placement })));
            await cluster.Client(via).StartAsync(id, new StartOptions(Rootfs: rootfs));
        }

        async Task RemoveAsync(int via, string id)
        {
            await cluster.Client(via).ForceDeleteAsync(id);
        }

        // State calls from n1: on its own container and on one of n2's, after a warm-up.
        await RunAsync(0, "local", "n1");
        await RunAsync(0, "remote", "n2");
        log.WriteLine("cluster: warming up: state calls from n1 on both containers for 10 s (connections, tiered JIT)");
        await WarmUpAsync(cluster.Client(0), ["local", "remote"], TimeSpan.FromSeconds(10));
        log.WriteLine($"cluster: {calls} state calls from n1 on each, alternating a container of n1 and one of n2");
        var (local, remote) = await StateLatenciesAsync(cluster.Client(0), "local", "remote", calls);

        // Create and start: all on n1 (placed by name), then anywhere (spread over the three), each time from all three nodes.
        log.WriteLine($"cluster: {containers} containers created and started on one node, then anywhere");
        // Each batch is removed before the next, so "anywhere" starts from nodes as evenly loaded as placement sees them.
        var oneNode = await ThroughputAsync(containers, parallel, i => RunAsync(i % 3, $"one-{i}", "n1"));
        await Shell.ForEachAsync(Enumerable.Range(0, containers), parallel, i => RemoveAsync(i % 3, $"one-{i}"));
        var spread = await ThroughputAsync(containers, parallel, i => RunAsync(i % 3, $"any-{i}", "anywhere"));
        var placedOn = Enumerable.Range(0, containers).Select(i => cluster.RunsOn($"any-{i}")).GroupBy(n => n)
            .OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}").ToList();
        await Shell.ForEachAsync(Enumerable.Range(0, containers), parallel, i => RemoveAsync(i % 3, $"any-{i}"));

        // Node loss: n3 SIGKILLed; how long until a call from n1 for its container answers Unavailable naming it.
        await RunAsync(0, "lost", "n3");
        log.WriteLine("cluster: SIGKILL of n3, calls from n1 until one answers Unavailable");
        var sw = Stopwatch.StartNew();
        await cluster.KillAsync(2);
        var killedAt = sw.Elapsed;
        string? why = null;
        while (why is null && sw.Elapsed < Bound)
        {
            try
            {
                await cluster.Client(0).StatusAsync("lost");
            }
            catch (UnavailableException e)
            {
                why = e.Message;
            }
        }
        var lossMs = (sw.Elapsed - killedAt).TotalMilliseconds;
        log.WriteLine($"cluster: after {lossMs:F0} ms: {why}");
        try
        {
            await cluster.StartNodeAsync(2);
            await ThreeNodeCluster.UntilUpAsync(() => RemoveAsync(0, "lost"));
        }
        catch (Exception e)
        {
            log.WriteLine($"cluster: restarting n3 and removing its container failed: {e}\n{cluster.Logs(40)}");
            throw;
        }
        await RemoveAsync(0, "local");
        await RemoveAsync(0, "remote");

        var result = new
        {
            scenario = "cluster",
            machine = new { cores = Environment.ProcessorCount },
            stateCallMs = new
            {
                local = new { p50 = LifecycleBenchmark.Percentile(local, 0.5), p99 = LifecycleBenchmark.Percentile(local, 0.99) },
                remote = new { p50 = LifecycleBenchmark.Percentile(remote, 0.5), p99 = LifecycleBenchmark.Percentile(remote, 0.99) },
                calls,
            },
            createStartPerSecond = new { oneNode, threeNodes = spread, containers, parallel, spreadOver = placedOn },
            killToUnavailableMs = lossMs,
            unavailable = why,
        };
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        Console.WriteLine($"cluster benchmark: 3 actorruntimed nodes on one machine ({Environment.ProcessorCount} cores), one PostgreSQL");
        Console.WriteLine();
        Console.WriteLine("| measure | n1's own container | a container of n2 | added |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        Console.WriteLine($"| state call from n1, p50 | {result.stateCallMs.local.p50:F2} ms | {result.stateCallMs.remote.p50:F2} ms | {result.stateCallMs.remote.p50 - result.stateCallMs.local.p50:F2} ms |");
        Console.WriteLine($"| state call from n1, p99 | {result.stateCallMs.local.p99:F2} ms | {result.stateCallMs.remote.p99:F2} ms | {result.stateCallMs.remote.p99 - result.stateCallMs.local.p99:F2} ms |");
        Console.WriteLine();
        Console.WriteLine("| measure | all on one node | anywhere (3 nodes) | ratio |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        Console.WriteLine($"| {containers} containers created and started, {parallel} at a time | {oneNode:F1} /s | {spread:F1} /s ({string.Join(", ", placedOn)}) | {spread / oneNode:F2}× |");
        Console.WriteLine();
        Console.WriteLine($"SIGKILL of n3 to a call from n1 for its container answering Unavailable: {lossMs:F0} ms ({why})");
        return 0;
    }

    /// <summary>
    /// Calls until <paramref name="for"/> has passed: the first calls of a path run tier-0 code and open connections, and
    /// .NET's tiered JIT recompiles hot methods only after they have been called for a while, in the background.
    /// </summary>
    private static async Task WarmUpAsync(IContainerClient client, string[] ids, TimeSpan @for)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < @for)
            foreach (var id in ids) await client.StatusAsync(id);
    }

    /// <summary>
    /// <paramref name="calls"/> state calls on each container, one after the other, alternating: both see the same machine
    /// (another process's burst, a GC) rather than one measured before the other.
    /// </summary>
    private static async Task<(List<double> A, List<double> B)> StateLatenciesAsync(IContainerClient client, string a, string b, int calls)
    {
        var (timesA, timesB) = (new List<double>(calls), new List<double>(calls));
        for (var i = 0; i < calls; i++)
        {
            foreach (var (id, times) in new[] { (a, timesA), (b, timesB) })
            {
                var sw = Stopwatch.StartNew();
                await client.StatusAsync(id);
                times.Add(sw.Elapsed.TotalMilliseconds);
            }
        }
        return (timesA, timesB);
    }

    private static async Task<double> ThroughputAsync(int containers, int parallel, Func<int, Task> run)
    {
        var sw = Stopwatch.StartNew();
        await Shell.ForEachAsync(Enumerable.Range(0, containers), parallel, run);
        return containers / sw.Elapsed.TotalSeconds;
    }
}
