using System.Globalization;
using System.Text.Json;
using ActorRuntime.Testing;

namespace ActorRuntime.Benchmarks;

/// <summary>
/// <c>actorruntime-bench clients</c>: a real containerd 1.6.20 and our actorruntimed started side by side on their own
/// sockets and directories, measured through the same ctr and dockerd (see <see cref="ClientsBenchmark"/>), one table.
/// </summary>
internal static class ClientsCommand
{
    public const string Usage =
        "actorruntime-bench clients [--runs 50] [--warmup 5] [--parallel 50] [--workers 5] [--docker-runs 20] [--exec-rounds 6] [--execs 20] [--running 100] [--skip-docker] [--json]";

    public static async Task<int> RunAsync(string[] args)
    {
        int runs = 50, warmup = 5, parallel = 50, workers = 5, dockerRuns = 20, execRounds = 6, execs = 20, running = 100;
        bool json = false, skipDocker = false, oursContainerd = false;
        for (var i = 0; i < args.Length; i++)
        {
            int Next() => int.Parse(args[++i], CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--runs": runs = Next(); break;
                case "--warmup": warmup = Next(); break;
                case "--parallel": parallel = Next(); break;
                case "--workers": workers = Next(); break;
                case "--docker-runs": dockerRuns = Next(); break;
                case "--exec-rounds": execRounds = Next(); break;
                case "--execs": execs = Next(); break;
                case "--running": running = Next(); break;
                case "--skip-docker": skipDocker = true; break;
                case "--json": json = true; break;
                // Not in the usage: a second real containerd in our column, to check the harness itself (both columns alike).
                case "--ours-containerd": oursContainerd = true; break;
                default: Console.Error.WriteLine($"unknown option {args[i]}\nusage: {Usage}"); return 2;
            }
        }
        if (runs < 1 || warmup < 0 || parallel < 2 || workers < 1 || dockerRuns < 1 || execRounds < 1 || execs < 1 || running < 20)
        {
            Console.Error.WriteLine($"--runs, --docker-runs, --exec-rounds, --execs, --workers at least 1, --parallel 2, --running 20 (memory is also read at 20), --warmup 0\nusage: {Usage}");
            return 2;
        }
        if (!Environment.IsPrivilegedProcess)
        {
            Console.Error.WriteLine("actorruntime-bench drives runc, containerd and dockerd: run it as root");
            return 2;
        }
        var workload = new ClientsBenchmark.Workload(warmup, runs, parallel, workers, dockerRuns, execRounds, execs, running, !skipDocker);
        var log = Console.Error;

        await using var containerd = await ContainerdDaemon.StartAsync();
        log.WriteLine($"clients: containerd 1.6.20 serving on {containerd.Socket}");
        ContainerdDaemon? secondContainerd = null;
        ActorRuntimed? ours = null;
        string? oursFailure = null;
        try
        {
            ClientTarget? oursTarget = null;
            if (oursContainerd)
            {
                secondContainerd = await ContainerdDaemon.StartAsync();
                oursTarget = new ClientTarget("containerd 1.6.20 (in our column)", secondContainerd.Socket, secondContainerd.Namespace,
                    secondContainerd.Rootfs, secondContainerd.Pid, secondContainerd.Track);
            }
            else
            {
                try
                {
                    ours = await ActorRuntimed.StartAsync();
                    oursTarget = new ClientTarget("actorruntimed", ours.Address, ours.Namespace, ours.Rootfs, ours.Pid, ours.Track);
                    log.WriteLine($"clients: actorruntimed serving on {ours.Address}");
                }
                catch (Exception e)
                {
                    oursFailure = $"actorruntimed did not start: {e.Message.Split('\n')[0]}";
                    log.WriteLine($"clients: {oursFailure}");
                }
            }
            var targets = new[]
            {
                new ClientTarget("containerd 1.6.20", containerd.Socket, containerd.Namespace, containerd.Rootfs, containerd.Pid, containerd.Track),
                oursTarget,
            };
            var results = await ClientsBenchmark.RunAsync(targets, [null, oursFailure], workload, log);
            var runcFloor = await RuncFloor.MeasureAsync(containerd.Rootfs, 10, log);
            Print(results, workload, runcFloor, json);
        }
        finally
        {
            if (ours is not null) await ours.DisposeAsync();
            if (secondContainerd is not null) await secondContainerd.DisposeAsync();
        }
        return 0;
    }

    private static void Print(IReadOnlyList<ClientsResult> results, ClientsBenchmark.Workload w, double? runcFloor, bool json)
    {
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                scenario = "clients",
                workload = w,
                runcRunMedianMs = runcFloor,
                machine = new { cores = Environment.ProcessorCount, kernel = Environment.OSVersion.VersionString },
                results,
            }, new JsonSerializerOptions { WriteIndented = true }));
            return;
        }
        var (cd, ours) = (results[0], results[1]);
        Console.WriteLine($"clients benchmark: the real ctr 1.6.20{(w.Docker ? " and dockerd 20.10.24" : "")} against containerd 1.6.20 and {ours.Runtime}, " +
                          $"busybox; {w.Warmup} warm-ups, {w.Runs} sequential runs each, alternating daemons; {Environment.ProcessorCount} cores");
        Console.WriteLine();
        Console.WriteLine($"| measure | {cd.Runtime} | {ours.Runtime} | ratio (ours / containerd) |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        var failures = new List<string>();
        string Cell(ClientsResult r, Figure f, string unit, string format)
        {
            if (f.Value is { } v) return $"{v.ToString(format, CultureInfo.InvariantCulture)} {unit}";
            var why = $"{r.Runtime}: {f.Failure}";
            if (!failures.Contains(why)) failures.Add(why);
            return $"failed ({failures.IndexOf(why) + 1})";
        }
        void Row(string name, Func<ClientsResult, Figure> f, string unit, string format = "F0")
        {
            var (a, b) = (f(cd), f(ours));
            var ratio = a.Value is > 0 && b.Value is { } bv ? $"{bv / a.Value.Value:F2}×" : "–";
            Console.WriteLine($"| {name} | {Cell(cd, a, unit, format)} | {Cell(ours, b, unit, format)} | {ratio} |");
        }
        Row("`ctr run --rm --rootfs … /bin/true`, sequential, median", r => r.CtrRunMedianMs, "ms");
        Row("`ctr run --rm --rootfs … /bin/true`, sequential, p90", r => r.CtrRunP90Ms, "ms");
        Row($"the same by {w.Workers} workers at once ({w.Parallel} runs), throughput", r => r.ParallelPerSecond, "/s", "F1");
        if (w.Docker)
        {
            Row("`docker run --rm IMAGE /bin/true` through dockerd, median", r => r.DockerRunMedianMs, "ms");
            Row("`docker run --rm IMAGE /bin/true` through dockerd, p90", r => r.DockerRunP90Ms, "ms");
        }
        Row($"{w.Execs} concurrent `ctr task exec … /bin/true` into one container, total (median of {w.ExecRounds})", r => r.ExecTotalMs, "ms");
        Row("`ctr version` (one ctr process, one call), median", r => r.CtrVersionMedianMs, "ms");
        Row("daemon's own CPU per sequential `ctr run --rm`, median", r => r.CtrRunDaemonCpuMs, "ms");
        Row($"daemon's own CPU per burst of {w.Execs} execs, median", r => r.ExecDaemonCpuMs, "ms");
        Row($"machine busy during the burst of {w.Execs} execs (all {Environment.ProcessorCount} cores), median", r => r.ExecMachineBusyPercent, "%");
        Row("daemon memory (RSS), no container (after the runs)", r => r.RssMbIdle, "MB");
        Row("daemon memory (RSS), 20 running", r => r.RssMb20, "MB");
        // With --running 20 the reading at 20 is the only one.
        if (w.Running > 20) Row($"daemon memory (RSS), {w.Running} running", r => r.RssMbAll, "MB");
        // What each running container costs the daemon, apart from what the daemon costs with none.
        Row("daemon memory per running container ((RSS at the most − RSS with none) / count)", r =>
            r.RssMbAll.Value is { } all && r.RssMbIdle.Value is { } idle
                ? new Figure((all - idle) * 1024 / w.Running, null, 1)
                : Figure.Failed(r.RssMbAll.Failure ?? r.RssMbIdle.Failure ?? "not measured"), "kB");
        Console.WriteLine();
        Console.WriteLine("- every figure includes the client's own start-up (one ctr or docker process per command); ratio above 1: " +
                          "ours takes longer / uses more, except throughput, where above 1 is faster");
        Console.WriteLine($"- memory: VmRSS of the daemon process alone (not its shims), read 1 s after the last `ctr run -d … sleep` " +
                          "returned; containers started 5 at a time, one daemon at a time");
        Console.WriteLine("- CPU: the daemon process alone (utime + stime from /proc; its shims, runc and the clients are other processes); " +
                          "machine busy: /proc/stat, all but idle and iowait");
        if (runcFloor is { } floor)
            Console.WriteLine($"- floor without any daemon or shim: `runc run` of the same /bin/true bundle, median {floor:F0} ms");
        for (var i = 0; i < failures.Count; i++) Console.WriteLine($"- failed ({i + 1}): {failures[i]}");
    }
}
