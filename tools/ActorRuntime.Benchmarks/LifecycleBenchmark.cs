using System.Diagnostics;
using System.Net.Sockets;
using ActorRuntime.Testing;

namespace ActorRuntime.Benchmarks;

/// <summary>
/// One runtime's figures for the lifecycle scenario. <see cref="Idle"/> is read after the warm-up, <see cref="BeforeRunning"/>
/// after all the lifecycles with none left (the baseline of <see cref="DaemonRssMbPerContainer"/>), <see cref="WithAll"/>
/// with <c>running</c> containers (the same reading as <see cref="With20"/> when that is 20). Phases only for ActorRuntime.
/// </summary>
internal sealed record LifecycleResult(
    string Runtime,
    int Warmup,
    double ColdStartMs,
    double SequentialMedianMs,
    double SequentialP90Ms,
    double GroupedMedianMs,
    double GroupedP90Ms,
    LifecyclePhases? SequentialPhaseMediansMs,
    double ParallelPerSecond,
    double CpuMsPerLifecycle,
    double IdleCpuMsPerSecond,
    ProcStat Idle,
    ProcStat BeforeRunning,
    ProcStat With20,
    ProcStat WithAll,
    double DaemonRssMbPerContainer,
    double ShimRssMbPerContainer,
    double ClientSpawnMs,
    string Notes)
{
    /// <summary>What one more running container costs in memory: the daemon's share plus its own shim.</summary>
    public double DaemonAndShimRssMbPerContainer => DaemonRssMbPerContainer + ShimRssMbPerContainer;
}

/// <summary>
/// Where one ActorRuntime lifecycle's time goes: one request to actorruntime-host each, timed from writing the request
/// line to reading its response line (so each includes a stdin/stdout round trip and the JSON on both ends).
/// Create: the container's metadata, then the task (bundle, shim launched and connected, runc create). Start: runc start.
/// Wait: from start's reply until the exit reached the task and was reported (/bin/true's own run included). Delete:
/// the task (the shim's delete, the shim gone, the bundle removed), then the metadata (see RequestHandler).
/// </summary>
internal sealed record LifecyclePhases(double CreateMs, double StartMs, double WaitMs, double DeleteMs)
{
    public static LifecyclePhases Medians(IReadOnlyList<LifecyclePhases> all) => new(
        LifecycleBenchmark.Median(all.Select(p => p.CreateMs).ToList()),
        LifecycleBenchmark.Median(all.Select(p => p.StartMs).ToList()),
        LifecycleBenchmark.Median(all.Select(p => p.WaitMs).ToList()),
        LifecycleBenchmark.Median(all.Select(p => p.DeleteMs).ToList()));
}

/// <summary>
/// The lifecycle scenario, the same workload for both runtimes on this machine in one run: cold start; <c>warmup</c>
/// lifecycles not measured; N sequential lifecycles of busybox <c>/bin/true</c> (create, start, wait, delete, container
/// metadata included) and the daemon's CPU time over them (for ActorRuntime also each phase's time); M lifecycles by
/// <c>workers</c> clients at once; idle CPU with no container left at the end (after a 5 s pause); resident memory and
/// threads idle, with 20 and with <c>running</c> sleeping containers, the daemon's and the shims' memory per container.
/// ActorRuntime is driven through actorruntime-host (requests on its stdin: no client process per call); containerd
/// through <c>ctr run --rm</c>, one ctr process per lifecycle, whose own start-up is measured apart (<c>ctr version</c>).
/// </summary>
internal static class LifecycleBenchmark
{
    /// <summary>The runc shim's grouping annotation: containers with the same value share one shim process.</summary>
    private const string ShimGroupAnnotation = "io.containerd.runc.v2.group";

    private const string WarmGroup = "bench-warm";

    public sealed record Workload(int Warmup, int Sequential, int Parallel, int Workers, int Running, TimeSpan IdleWindow);

    public static async Task<LifecycleResult> RunActorRuntimeAsync(Workload w, TextWriter log)
    {
        await using var bench = BenchHost.Prepare();
        var first = Stopwatch.StartNew();
        await bench.StartAsync(TimeSpan.FromSeconds(60));
        log.WriteLine($"actorruntime: first start (new database) ready after {first.Elapsed.TotalMilliseconds:F0} ms");
        await bench.KillAsync();
        var cold = Stopwatch.StartNew();
        var host = await bench.StartAsync(TimeSpan.FromSeconds(60));
        var coldMs = cold.Elapsed.TotalMilliseconds;
        log.WriteLine($"actorruntime: cold start (existing database, no containers) ready after {coldMs:F0} ms");

        async Task<LifecyclePhases?> Lifecycle(string id, string? group)
        {
            var sw = Stopwatch.StartNew();
            await host.CreateAsync(id, ["/bin/true"], bench.Image, group: group);
            var created = sw.Elapsed.TotalMilliseconds;
            await host.StartTaskAsync(id);
            var started = sw.Elapsed.TotalMilliseconds;
            await host.WaitTaskAsync(id, TimeSpan.FromSeconds(30));
            var exited = sw.Elapsed.TotalMilliseconds;
            await host.DeleteAsync(id);
            return new LifecyclePhases(created, started - created, exited - started, sw.Elapsed.TotalMilliseconds - exited);
        }
        async Task Run(string id, string? group)
        {
            await host.CreateAsync(id, ["sleep", "1000"], bench.Image, group: group);
            await host.StartTaskAsync(id);
        }
        async Task Stop(string id)
        {
            await host.KillTaskAsync(id, 9);
            await host.WaitTaskAsync(id, TimeSpan.FromSeconds(30));
            await host.DeleteAsync(id);
        }
        return await MeasureAsync("ActorRuntime", w, host.Pid, coldMs, clientSpawnMs: 0, Lifecycle, Run, Stop, bench.ShimPids, log,
            "driven over actorruntime-host's stdin (no client process per call); cold start = spawn → ready line, .NET start-up included");
    }

    public static async Task<LifecycleResult> RunContainerdAsync(Workload w, TextWriter log)
    {
        await using var containerd = await ContainerdDaemon.StartAsync();
        await containerd.KillAsync();
        var cold = Stopwatch.StartNew();
        containerd.Respawn();
        await WaitUntilAcceptingAsync(containerd.Socket, TimeSpan.FromSeconds(30));
        var coldMs = cold.Elapsed.TotalMilliseconds;
        await containerd.WaitUntilAnsweringAsync();
        log.WriteLine($"containerd: cold start (spawn → gRPC socket accepts) {coldMs:F0} ms");

        var spawns = new List<double>();
        for (var i = 0; i < 10; i++)
        {
            var sw = Stopwatch.StartNew();
            await Shell.CheckAsync("ctr", ["-a", containerd.Socket, "version"]);
            spawns.Add(sw.Elapsed.TotalMilliseconds);
        }
        var clientSpawnMs = Median(spawns);

        // One ctr process does create, start, wait and delete: its phases cannot be timed apart from outside.
        async Task<LifecyclePhases?> Lifecycle(string id, string? group)
        {
            await Shell.CheckAsync("ctr", containerd.Ctr(["run", "--rm", .. Annotations(group), "--rootfs", containerd.Rootfs, containerd.Track(id), "/bin/true"]));
            return null;
        }
        Task Run(string id, string? group) =>
            Shell.CheckAsync("ctr", containerd.Ctr(["run", "-d", .. Annotations(group), "--rootfs", containerd.Rootfs, containerd.Track(id), "/bin/sleep", "1000"]));
        static string[] Annotations(string? group) => group is null ? [] : ["--annotation", $"{ShimGroupAnnotation}={group}"];
        async Task Stop(string id)
        {
            await Shell.CheckAsync("ctr", containerd.Ctr("task", "rm", "-f", id));
            await Shell.CheckAsync("ctr", containerd.Ctr("container", "rm", id));
        }
        return await MeasureAsync("containerd 1.6.20", w, containerd.Pid, coldMs, clientSpawnMs, Lifecycle, Run, Stop, containerd.ShimPids, log,
            $"one `ctr run --rm` per lifecycle: each figure includes starting ctr ({clientSpawnMs:F0} ms median for `ctr version`)");
    }

    private static async Task<LifecycleResult> MeasureAsync(string runtime, Workload w, int daemonPid, double coldMs, double clientSpawnMs,
        Func<string, string?, Task<LifecyclePhases?>> lifecycle, Func<string, string?, Task> run, Func<string, Task> stop, Func<IReadOnlyList<int>> shimPids,
        TextWriter log, string notes)
    {
        var tag = runtime.Split(' ')[0].ToLowerInvariant();
        for (var i = 0; i < w.Warmup; i++) await lifecycle($"warm-{i}", null);

        var idle = ProcStat.Of(daemonPid);

        var durations = new List<double>();
        var phases = new List<LifecyclePhases>();
        var cpuBefore = ProcStat.Of(daemonPid).CpuMs;
        for (var i = 0; i < w.Sequential; i++)
        {
            var sw = Stopwatch.StartNew();
            var split = await lifecycle($"seq-{i}", null);
            durations.Add(sw.Elapsed.TotalMilliseconds);
            if (split is not null) phases.Add(split);
            if ((i + 1) % 25 == 0) log.WriteLine($"{tag}: {i + 1}/{w.Sequential} sequential, median so far {Median(durations):F0} ms");
        }
        var cpuPerLifecycle = (ProcStat.Of(daemonPid).CpuMs - cpuBefore) / w.Sequential;

        // The warm path a shim pool would give: containers of one shim group share the shim an anchor container keeps
        // running, so their lifecycles launch no shim daemon (the runc shim's `start` still runs, finds the group's
        // socket and returns its address).
        await run("warm-anchor", WarmGroup);
        var grouped = new List<double>();
        for (var i = 0; i < Math.Max(10, w.Sequential / 2); i++)
        {
            var sw = Stopwatch.StartNew();
            await lifecycle($"grp-{i}", WarmGroup);
            grouped.Add(sw.Elapsed.TotalMilliseconds);
        }
        await stop("warm-anchor");
        log.WriteLine($"{tag}: {grouped.Count} sequential in a running shim's group, median {Median(grouped):F0} ms");

        var parallel = Stopwatch.StartNew();
        await Shell.ForEachAsync(Enumerable.Range(0, w.Parallel), w.Workers, i => lifecycle($"par-{i}", null));
        var perSecond = w.Parallel / parallel.Elapsed.TotalSeconds;
        log.WriteLine($"{tag}: {w.Parallel} lifecycles by {w.Workers} workers: {perSecond:F1}/s");

        // The baseline for memory per running container is read here, after all the lifecycles and with none left,
        // not at `idle`: what the daemon grew by while running lifecycles is not the running containers' cost.
        await Task.Delay(1000);
        var beforeRunning = ProcStat.Of(daemonPid);
        var ids = Enumerable.Range(0, w.Running).Select(i => $"run-{i}").ToList();
        await Shell.ForEachAsync(ids.Take(20), 5, id => run(id, null));
        await Task.Delay(1000);
        var with20 = ProcStat.Of(daemonPid);
        var withAll = with20;
        if (w.Running > 20)
        {
            await Shell.ForEachAsync(ids.Skip(20), 5, id => run(id, null));
            await Task.Delay(1000);
            withAll = ProcStat.Of(daemonPid);
        }
        var daemonRssPerContainer = (withAll.RssMb - beforeRunning.RssMb) / w.Running;
        var shims = shimPids();
        var shimRssPerContainer = ProcStat.RssMbOf(shims) / w.Running;
        log.WriteLine($"{tag}: {w.Running} running: {withAll.RssMb:F0} MB ({beforeRunning.RssMb:F0} MB before), {withAll.Threads} threads; " +
                      $"{shims.Count} shims, {shimRssPerContainer:F1} MB each");
        await Shell.ForEachAsync(ids, 5, stop);

        // Idle: after all that work is done and settled (a .NET process still compiles hot methods for a while after
        // its first requests), with no container left.
        await Task.Delay(TimeSpan.FromSeconds(5));
        var idleCpu = await ProcStat.CpuMsPerSecondAsync(daemonPid, w.IdleWindow);
        log.WriteLine($"{tag}: idle after the run {idleCpu:F1} ms CPU/s");

        return new LifecycleResult(runtime, w.Warmup, coldMs, Median(durations), Percentile(durations, 0.9),
            Median(grouped), Percentile(grouped, 0.9),
            phases.Count > 0 ? LifecyclePhases.Medians(phases) : null, perSecond, cpuPerLifecycle, idleCpu, idle, beforeRunning,
            with20, withAll, daemonRssPerContainer, shimRssPerContainer, clientSpawnMs, notes);
    }

    /// <summary>Spins on connect (1 ms apart) so the figure is containerd's, not a polling interval's.</summary>
    private static async Task WaitUntilAcceptingAsync(string socketPath, TimeSpan bound)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await s.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
                return;
            }
            catch (SocketException) when (deadline.Elapsed < bound)
            {
                await Task.Delay(1);
            }
        }
    }

    public static double Median(IReadOnlyList<double> values) => Percentile(values, 0.5);

    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, Math.Ceiling(p * sorted.Count) - 1)];
    }
}
