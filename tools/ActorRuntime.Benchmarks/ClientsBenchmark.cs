using System.Diagnostics;
using ActorRuntime.Testing;

namespace ActorRuntime.Benchmarks;

/// <summary>One measured figure of one runtime, or why it could not be measured; never a number that was not measured.</summary>
internal sealed record Figure(double? Value, string? Failure, int Samples)
{
    public static Figure Failed(string why) => new(null, why, 0);
}

/// <summary>One runtime's figures in the clients scenario (see <see cref="ClientsBenchmark"/>).</summary>
internal sealed record ClientsResult(
    string Runtime,
    Figure CtrRunMedianMs,
    Figure CtrRunP90Ms,
    Figure ParallelPerSecond,
    Figure DockerRunMedianMs,
    Figure DockerRunP90Ms,
    Figure ExecTotalMs,
    Figure CtrVersionMedianMs,
    Figure CtrRunDaemonCpuMs,
    Figure ExecDaemonCpuMs,
    Figure ExecMachineBusyPercent,
    Figure RssMbIdle,
    Figure RssMb20,
    Figure RssMbAll);

/// <summary>
/// A containerd-API daemon as the clients see it: its socket, the namespace ctr uses, a busybox rootfs for
/// <c>ctr run --rootfs</c>, the daemon's pid (for its memory) and a hook that remembers each container id for clean-up.
/// </summary>
internal sealed record ClientTarget(string Runtime, string Address, string Namespace, string Rootfs, int Pid, Func<string, string> Track)
{
    public string[] Ctr(params string[] args) => ["-a", Address, "-n", Namespace, .. args];
}

/// <summary>
/// containerd 1.6.20 and actorruntimed in one run on this machine, driven by the same unchanged clients: the real ctr
/// (one process per command) and the real dockerd (one per daemon). Each measure alternates between the daemons (the
/// order flips every round) to spread drift. A measure that fails for one daemon stops for that daemon and says why;
/// the other goes on.
/// </summary>
internal static class ClientsBenchmark
{
    private static readonly TimeSpan CallBound = TimeSpan.FromSeconds(30);

    public sealed record Workload(int Warmup, int Runs, int Parallel, int Workers, int DockerRuns, int ExecRounds, int Execs, int Running, bool Docker);

    /// <summary>Samples of one measure for one daemon; the first failure ends it.</summary>
    private sealed class Series
    {
        public List<double> Samples { get; } = [];
        public string? Failure { get; private set; }
        public bool Failed => Failure is not null;

        /// <summary>Times <paramref name="work"/> unless the series has failed; a failure is kept instead of a sample.</summary>
        public async Task TimeAsync(Func<Task> work, bool keep = true)
        {
            if (Failed) return;
            var sw = Stopwatch.StartNew();
            try
            {
                await work();
            }
            catch (Exception e)
            {
                Fail(e);
                return;
            }
            if (keep) Samples.Add(sw.Elapsed.TotalMilliseconds);
        }

        public void Fail(Exception e) => Failure ??= FirstLines(e.Message);

        public Figure Median() => Of(LifecycleBenchmark.Median);
        public Figure P90() => Of(s => LifecycleBenchmark.Percentile(s, 0.9));

        public Figure Of(Func<IReadOnlyList<double>, double> f) =>
            Failure is { } why ? Figure.Failed(why) : Samples.Count == 0 ? Figure.Failed("no sample") : new Figure(f(Samples), null, Samples.Count);
    }

    public static async Task<IReadOnlyList<ClientsResult>> RunAsync(IReadOnlyList<ClientTarget?> targets, IReadOnlyList<string?> startFailures,
        Workload w, TextWriter log)
    {
        var tag = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3));
        var n = targets.Count;
        Series[] New() => Enumerable.Range(0, n).Select(i =>
        {
            var s = new Series();
            if (startFailures[i] is { } why) s.Fail(new InvalidOperationException(why));
            return s;
        }).ToArray();
        // Round r visits the daemons in this order: ABBA... spreads slow drift (page cache, CPU frequency, the other workers).
        IEnumerable<int> Order(int round) => round % 2 == 0 ? Enumerable.Range(0, n) : Enumerable.Range(0, n).Reverse();

        Task CtrRun(int t, string id)
        {
            var target = targets[t]!;
            return Check("ctr", target.Ctr("run", "--rm", "--rootfs", target.Rootfs, target.Track(id), "/bin/true"));
        }

        // 0. What a client's own round trip costs: `ctr version` (one process, one call), the floor under every ctr figure.
        var version = New();
        for (var i = -2; i < 10; i++)
            foreach (var t in Order(i + 2))
                if (targets[t] is { } target)
                    await version[t].TimeAsync(() => Check("ctr", target.Ctr("version")), keep: i >= 0);

        // 1. Sequential `ctr run --rm`, after warm-ups (kept apart: a warm-up failure fails the series too). The daemon's
        // own CPU time per run is kept too (its shims and runc are other processes): what the daemon adds, measured.
        var sequential = New();
        var sequentialCpu = New();
        for (var i = 0; i < w.Warmup; i++)
            foreach (var t in Order(i))
                await sequential[t].TimeAsync(() => CtrRun(t, $"cb{tag}-warm-{i}"), keep: false);
        for (var i = 0; i < w.Runs; i++)
        {
            foreach (var t in Order(i))
            {
                var cpuBefore = DaemonCpuMs(targets[t]);
                await sequential[t].TimeAsync(() => CtrRun(t, $"cb{tag}-seq-{i}"));
                if (!sequential[t].Failed) sequentialCpu[t].Samples.Add(DaemonCpuMs(targets[t]) - cpuBefore);
            }
            if ((i + 1) % 25 == 0) log.WriteLine($"clients: {i + 1}/{w.Runs} sequential `ctr run --rm` on each daemon");
        }
        log.WriteLine($"clients: sequential `ctr run --rm` medians: {Describe(targets, sequential, s => s.Median())}");

        // 2. The same by `workers` clients at once, in two rounds per daemon (ABBA): containers per second over both.
        var parallel = New();
        var parallelCount = new int[n];
        for (var round = 0; round < 2; round++)
            foreach (var t in Order(round))
            {
                var count = w.Parallel / 2 + (round == 0 ? w.Parallel % 2 : 0);
                await parallel[t].TimeAsync(() => Shell.ForEachAsync(Enumerable.Range(0, count), w.Workers, i => CtrRun(t, $"cb{tag}-par-{round}-{i}")));
                if (!parallel[t].Failed) parallelCount[t] += count;
            }
        var perSecond = Enumerable.Range(0, n)
            .Select(t => parallel[t].Of(s => parallelCount[t] / (s.Sum() / 1000))).ToArray();
        log.WriteLine($"clients: {w.Workers} workers: {Describe(targets, perSecond, "/s")}");

        // 3. `execs` concurrent `ctr task exec` into one running container per daemon: the time until all returned.
        // The daemon's CPU per burst, and how busy the whole machine was during it (100% = every core all the time).
        var exec = New();
        var execCpu = New();
        var execBusy = New();
        var execIds = new string[n];
        foreach (var t in Enumerable.Range(0, n))
        {
            var target = targets[t];
            if (target is null || exec[t].Failed) continue;
            execIds[t] = target.Track($"cb{tag}-exec");
            await exec[t].TimeAsync(() => Check("ctr", target.Ctr("run", "-d", "--rootfs", target.Rootfs, execIds[t], "/bin/sleep", "1000")), keep: false);
        }
        for (var round = -1; round < w.ExecRounds; round++) // round -1: warm-up
            foreach (var t in Order(round + 1))
            {
                // The previous burst's clients and exec clean-up must not be counted against the next daemon: with an odd
                // number of rounds one daemon would follow the other more often.
                await Task.Delay(1000);
                var (cpuBefore, busyBefore) = (DaemonCpuMs(targets[t]), MachineBusy.Read());
                var sw = Stopwatch.StartNew();
                await exec[t].TimeAsync(() => Shell.ForEachAsync(Enumerable.Range(0, w.Execs), w.Execs, i =>
                    Check("ctr", targets[t]!.Ctr("task", "exec", "--exec-id", $"x{round + 1}-{i}", execIds[t], "/bin/true"))), keep: round >= 0);
                if (round < 0 || exec[t].Failed) continue;
                execCpu[t].Samples.Add(DaemonCpuMs(targets[t]) - cpuBefore);
                execBusy[t].Samples.Add(MachineBusy.Read().PercentSince(busyBefore, sw.Elapsed));
            }
        foreach (var t in Enumerable.Range(0, n))
            if (targets[t] is { } target && execIds[t] is { } id) await RemoveAsync(target, id);
        log.WriteLine($"clients: {w.Execs} concurrent `ctr task exec`, median total: {Describe(targets, exec, s => s.Median())}");

        // 4. `docker run --rm` through a dockerd on each daemon (started for this measure only: its event subscriptions
        // would otherwise be work for the daemons during the others).
        var docker = New();
        if (w.Docker) await DockerRunsAsync(targets, docker, w, Order, log);

        // 5. Each daemon's resident memory with none, 20 and `running` containers (`ctr run -d ... sleep`), one daemon at a time.
        var rss = Enumerable.Range(0, n).Select(_ => new Figure[3]).ToArray();
        foreach (var t in Enumerable.Range(0, n))
            rss[t] = targets[t] is { } target ? await MemoryAsync(target, tag, w.Running, log) : [.. Enumerable.Repeat(Figure.Failed(startFailures[t]!), 3)];

        return Enumerable.Range(0, n).Select(t => new ClientsResult(
            targets[t]?.Runtime ?? "actorruntimed",
            sequential[t].Median(), sequential[t].P90(), perSecond[t],
            w.Docker ? docker[t].Median() : Figure.Failed("not run (--skip-docker)"),
            w.Docker ? docker[t].P90() : Figure.Failed("not run (--skip-docker)"),
            exec[t].Median(), version[t].Median(), sequentialCpu[t].Median(), execCpu[t].Median(), execBusy[t].Median(),
            rss[t][0], rss[t][1], rss[t][2])).ToList();
    }

    private static async Task DockerRunsAsync(IReadOnlyList<ClientTarget?> targets, Series[] docker, Workload w, Func<int, IEnumerable<int>> order,
        TextWriter log)
    {
        var daemons = new DockerDaemon?[targets.Count];
        try
        {
            for (var t = 0; t < targets.Count; t++)
            {
                if (targets[t] is not { } target || docker[t].Failed) continue;
                try
                {
                    daemons[t] = await DockerDaemon.StartAsync(target.Address);
                }
                catch (Exception e)
                {
                    docker[t].Fail(new InvalidOperationException($"dockerd did not start on it: {e.Message}"));
                }
            }
            async Task DockerRun(int t)
            {
                var r = await daemons[t]!.RunAsync(["run", "--rm", DockerDaemon.Image, "/bin/true"], CallBound);
                if (r.Code != 0) throw new InvalidOperationException($"docker run --rm: {r}");
            }
            for (var i = -2; i < w.DockerRuns; i++) // two warm-ups
                foreach (var t in order(i + 2))
                    await docker[t].TimeAsync(() => DockerRun(t), keep: i >= 0);
            log.WriteLine($"clients: `docker run --rm` medians: {Describe(targets, docker, s => s.Median())}");
        }
        finally
        {
            foreach (var d in daemons)
                if (d is not null) await d.DisposeAsync();
        }
    }

    private static async Task<Figure[]> MemoryAsync(ClientTarget target, string tag, int running, TextWriter log)
    {
        var figures = new Figure[3];
        var ids = Enumerable.Range(0, running).Select(i => target.Track($"cb{tag}-run-{i}")).ToList();
        var started = new System.Collections.Concurrent.ConcurrentBag<string>();
        async Task Run(string id)
        {
            await Check("ctr", target.Ctr("run", "-d", "--rootfs", target.Rootfs, id, "/bin/sleep", "1000"));
            started.Add(id);
        }
        // Read after a settling second: what the daemon holds for its running containers, not a request in flight.
        async Task<Figure> Rss()
        {
            await Task.Delay(1000);
            return new Figure(ProcStat.Of(target.Pid).RssMb, null, 1);
        }
        try
        {
            figures[0] = await Rss();
            string? failure = null;
            foreach (var (level, batch) in new[] { (1, ids.Take(20)), (2, ids.Skip(20)) })
            {
                if (failure is null)
                {
                    try
                    {
                        await Shell.ForEachAsync(batch, 5, Run);
                        figures[level] = await Rss();
                        continue;
                    }
                    catch (Exception e)
                    {
                        failure = $"starting {(level == 1 ? 20 : running)} containers: {FirstLines(e.Message)}";
                    }
                }
                figures[level] = Figure.Failed(failure);
            }
            log.WriteLine($"clients: {target.Runtime} RSS: {string.Join(", ", figures.Select(f => f.Value is { } v ? $"{v:F0} MB" : "failed"))}");
        }
        finally
        {
            await Shell.ForEachAsync(started, 5, id => RemoveAsync(target, id));
        }
        return figures;
    }

    private static double DaemonCpuMs(ClientTarget? target) => target is null ? 0 : ProcStat.Of(target.Pid).CpuMs;

    private static async Task RemoveAsync(ClientTarget target, string id)
    {
        await Shell.RunAsync("ctr", target.Ctr("task", "rm", "-f", id));
        await Shell.RunAsync("ctr", target.Ctr("container", "rm", id));
    }

    private static async Task Check(string file, string[] args)
    {
        var r = await Shell.ExecAsync(file, args, CallBound);
        if (r.Code != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: exit {r.Code}: {r.Stderr.Trim()}");
    }

    private static string FirstLines(string message) =>
        string.Join(" / ", message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(3));

    private static string Describe(IReadOnlyList<ClientTarget?> targets, Series[] series, Func<Series, Figure> f) =>
        Describe(targets, series.Select(f).ToArray(), "ms");

    private static string Describe(IReadOnlyList<ClientTarget?> targets, Figure[] figures, string unit) =>
        string.Join(", ", figures.Select((fig, t) => $"{targets[t]?.Runtime ?? "actorruntimed"} " +
                                                     (fig.Value is { } v ? $"{v:F1} {unit}" : $"failed ({fig.Failure})")));
}
