using System.Globalization;
using System.Text.Json;

namespace ActorRuntime.Benchmarks;

/// <summary><c>actorruntime-bench lifecycle</c>: both runtimes, one after the other, then one table side by side.</summary>
internal static class LifecycleCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        int n = 100, parallel = 100, workers = 5, running = 100, warmup = 5;
        bool json = false, skipContainerd = false;
        for (var i = 0; i < args.Length; i++)
        {
            int Next() => int.Parse(args[++i], CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--n": n = Next(); break;
                case "--parallel": parallel = Next(); break;
                case "--workers": workers = Next(); break;
                case "--running": running = Next(); break;
                case "--warmup": warmup = Next(); break;
                case "--json": json = true; break;
                case "--skip-containerd": skipContainerd = true; break;
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        }
        if (warmup < 0) { Console.Error.WriteLine("--warmup must be 0 or more"); return 2; }
        if (running < 20) { Console.Error.WriteLine("--running must be at least 20 (memory is also read at 20)"); return 2; }
        if (!Environment.IsPrivilegedProcess)
        {
            Console.Error.WriteLine("actorruntime-bench drives runc and containerd: run it as root");
            return 2;
        }
        var workload = new LifecycleBenchmark.Workload(warmup, n, parallel, workers, running, TimeSpan.FromSeconds(10));
        var results = new List<LifecycleResult> { await LifecycleBenchmark.RunActorRuntimeAsync(workload, Console.Error) };
        if (!skipContainerd) results.Add(await LifecycleBenchmark.RunContainerdAsync(workload, Console.Error));
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                scenario = "lifecycle",
                workload = new { warmup, sequential = n, parallel, workers, running },
                machine = new { cores = Environment.ProcessorCount, kernel = Environment.OSVersion.VersionString },
                results,
            }, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        var ar = results[0];
        var cd = results.Count > 1 ? results[1] : null;
        Console.WriteLine($"lifecycle benchmark: busybox /bin/true, {warmup} warm-up lifecycles first (not measured), {n} sequential, {parallel} by {workers} workers, {running} running; {Environment.ProcessorCount} cores");
        Console.WriteLine();
        Console.WriteLine("| measure | ActorRuntime | containerd 1.6.20 | ratio |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        void Row(string name, Func<LifecycleResult, double> f, string unit, string format = "F0")
        {
            var a = f(ar);
            var c = cd is null ? (double?)null : f(cd);
            var ratio = c is > 0 ? $"{a / c.Value:F2}×" : "–";
            Console.WriteLine($"| {name} | {a.ToString(format, CultureInfo.InvariantCulture)} {unit} | {(c is null ? "not run" : c.Value.ToString(format, CultureInfo.InvariantCulture) + " " + unit)} | {ratio} |");
        }
        Row("sequential lifecycle, median", r => r.SequentialMedianMs, "ms");
        Row("sequential lifecycle, p90", r => r.SequentialP90Ms, "ms");
        Row("sequential lifecycle in a running shim's group, median", r => r.GroupedMedianMs, "ms");
        Row("sequential lifecycle in a running shim's group, p90", r => r.GroupedP90Ms, "ms");
        Row($"{workers} workers, throughput", r => r.ParallelPerSecond, "/s", "F1");
        Row("daemon CPU per lifecycle", r => r.CpuMsPerLifecycle, "ms", "F1");
        Row("daemon CPU while idle", r => r.IdleCpuMsPerSecond, "ms/s", "F1");
        Row("cold start, no containers", r => r.ColdStartMs, "ms");
        Row("daemon memory idle", r => r.Idle.RssMb, "MB");
        Row("daemon memory, 20 running", r => r.With20.RssMb, "MB");
        // With --running 20 the reading at 20 is the only one (see MeasureAsync).
        if (running > 20) Row($"daemon memory, {running} running", r => r.WithAll.RssMb, "MB");
        Row("daemon threads idle", r => r.Idle.Threads, "");
        Row("daemon threads, 20 running", r => r.With20.Threads, "");
        if (running > 20) Row($"daemon threads, {running} running", r => r.WithAll.Threads, "");
        Row("daemon memory per running container", r => r.DaemonRssMbPerContainer, "MB", "F2");
        Row("shim memory per running container", r => r.ShimRssMbPerContainer, "MB", "F1");
        Row("daemon + shim memory per running container", r => r.DaemonAndShimRssMbPerContainer, "MB", "F1");
        Console.WriteLine();
        foreach (var r in results) Console.WriteLine($"- {r.Runtime}: {r.Notes}");
        Console.WriteLine($"- memory per running container: daemon = (RSS with {running} running − RSS just before starting them, " +
                          $"after the lifecycles, none left) / {running}; shim = the shims' RSS with {running} running / {running}");
        if (ar.SequentialPhaseMediansMs is { } p)
            Console.WriteLine($"- ActorRuntime, where a sequential lifecycle's time goes (median of each phase over {n}; one host request " +
                              $"each, stdin/stdout round trip included; the medians need not add up to the lifecycle's): " +
                              $"create (metadata, then task: bundle, shim launch, runc create) {p.CreateMs:F0} ms, " +
                              $"start (runc start) {p.StartMs:F0} ms, " +
                              $"wait (until the exit is reported, /bin/true's run included) {p.WaitMs:F0} ms, " +
                              $"delete (task: shim delete, shim gone, bundle removed; then metadata) {p.DeleteMs:F0} ms");
        if (cd is not null)
            Console.WriteLine($"- {cd.Runtime}: `ctr run --rm` does the whole lifecycle in one client process; its phases cannot be timed apart");
        return 0;
    }
}
