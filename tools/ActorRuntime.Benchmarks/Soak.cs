using System.Diagnostics;
using ActorRuntime.Events;
using ActorRuntime.Testing;

namespace ActorRuntime.Benchmarks;

/// <summary>What a soak found; every count must be 0.</summary>
internal sealed record SoakResult(int Lifecycles, int Seed, IReadOnlyDictionary<string, int> Faults, int Generations, int Lost,
    int Duplicated, int WrongStatus, int LeakedShims, int LeakedBundles, int LeakedFifos, int LeakedOther, double Seconds,
    IReadOnlyList<string> Problems)
{
    public bool Clean => Lost + Duplicated + WrongStatus + LeakedShims + LeakedBundles + LeakedFifos + LeakedOther == 0;
}

/// <summary>
/// The soak: container lifecycles against actorruntime-host and real shims, in batches run side by side, with faults
/// injected at random (seeded): the container's shim SIGKILLed, SIGSTOPped (then continued, or killed), its connection
/// dropped under the runtime (the host's <c>drop-connection</c>), and the runtime itself SIGKILLed mid-batch and
/// restarted. A lifecycle whose step fails goes on from what the (next) host reports, as a client would. At the end the
/// last host's raw event list (the whole journal, every delivery counted) is audited (<see cref="ExitAudit"/>) and
/// leaks are counted: shims, bundles, FIFOs, and runc containers, mounts and cgroups.
/// </summary>
internal sealed class Soak
{
    private enum Fault { None, ShimKill, ShimStopContinue, ShimStopKill, DropConnection }

    private const uint SigKill = 9;
    private const int Batch = 4;
    private const double RuntimeKillChance = 0.15;
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(60);

    private readonly int _lifecycles;
    private readonly int _seed;
    private readonly Random _random;
    private readonly TextWriter _log;
    // The audit reads every event the host delivered, so it streams them.
    private readonly BenchHost _bench = BenchHost.Prepare("arsoak", streamEvents: true);
    private readonly Dictionary<string, int> _faults = new();
    private readonly List<Lifecycle> _all = [];
    private readonly List<string> _problems = [];

    private Soak(int lifecycles, int seed, TextWriter log)
    {
        _lifecycles = lifecycles;
        _seed = seed;
        _random = new Random(seed);
        _log = log;
    }

    public static async Task<SoakResult> RunAsync(int lifecycles, int seed, TextWriter log)
    {
        var soak = new Soak(lifecycles, seed, log);
        await using (soak._bench) return await soak.RunAsync();
    }

    private HostProcess Host => _bench.Host ?? throw new InvalidOperationException("no host running");

    /// <summary>One container: what it runs, its fault, and what the test saw (evidence that its runs exist).</summary>
    private sealed class Lifecycle(int index, uint exitStatus, bool longRunning, bool withExec, Fault fault, int faultAfterMs)
    {
        public string Id { get; } = $"s{index:D4}";
        public uint ExitStatus { get; } = exitStatus;
        public bool LongRunning { get; } = longRunning;
        public bool WithExec { get; } = withExec;
        public Fault Fault { get; } = fault;
        public int FaultAfterMs { get; } = faultAfterMs;
        public bool Created { get; set; }
        public bool ExecStarted { get; set; }
        /// <summary>We SIGKILLed a process of it that might still have been running (its 137 is right then).</summary>
        public bool KilledByUs { get; set; }
        public bool ShimFaulted => Fault is Fault.ShimKill or Fault.ShimStopKill or Fault.DropConnection;

        public IReadOnlyList<string> Args => LongRunning ? ["sleep", "1000"] : ["sh", "-c", $"sleep 0.{index % 5}; exit {ExitStatus}"];

        public override string ToString() => $"{Id} ({Fault}{(LongRunning ? ", killed" : $", exits {ExitStatus}")}{(WithExec ? ", exec" : "")})";
    }

    private async Task<SoakResult> RunAsync()
    {
        var watch = Stopwatch.StartNew();
        await StartHostAsync();
        for (var first = 0; first < _lifecycles; first += Batch)
        {
            var batch = Enumerable.Range(first, Math.Min(Batch, _lifecycles - first)).Select(NewLifecycle).ToList();
            _all.AddRange(batch);
            var runtimeKill = _random.NextDouble() < RuntimeKillChance ? _random.Next(0, 1500) : -1;
            var host = Host;
            var work = batch.Select(l => RunLifecycleAsync(l, host)).ToList();
            if (runtimeKill >= 0)
            {
                Count("runtime SIGKILL");
                await Task.WhenAny(Task.WhenAll(work), Task.Delay(runtimeKill));
                await _bench.KillAsync();
                await StartHostAsync();
            }
            var unfinished = (await Task.WhenAll(work)).Where(l => l is not null).Select(l => l!).ToList();
            // What a crash or fault interrupted is finished from what the host now reports.
            foreach (var l in unfinished) await FinishAsync(l);
            if ((first + Batch) % 50 < Batch || first + Batch >= _lifecycles)
                _log.WriteLine($"[soak] {Math.Min(first + Batch, _lifecycles)}/{_lifecycles} lifecycles, {watch.Elapsed.TotalSeconds:F0}s, " +
                               $"generation {_bench.Generations - 1}, faults {string.Join(", ", _faults.Select(kv => $"{kv.Key} {kv.Value}"))}");
        }
        var runs = ExpectedRuns(Host.Events);
        try
        {
            await Eventually.EventuallyAsync(() => Ended(Host.Events, runs), "every run's exit and delete", EventTimeout);
        }
        catch (TimeoutException)
        {
            // Counted as lost below.
        }
        await Task.Delay(500);
        var events = Host.Events;
        await _bench.KillAsync();
        var audit = ExitAudit.Check(events, ExpectedRuns(events));
        _problems.AddRange(audit.Problems);
        // The host is gone; shims that outlived their containers are leaks.
        await Task.Delay(1000);
        var leaks = await _bench.CountLeaksAsync(_all.Select(l => l.Id));
        _problems.AddRange(leaks.Details);
        // Which lifecycles the problems are about, with their fault.
        _problems.AddRange(_all.Where(l => _problems.Any(p => p.Contains(l.Id, StringComparison.Ordinal))).Select(l => $"involved: {l}"));
        return new SoakResult(_lifecycles, _seed, _faults, _bench.Generations, audit.Lost, audit.Duplicated, audit.WrongStatus, leaks.Shims,
            leaks.Bundles, leaks.Fifos, leaks.Other, watch.Elapsed.TotalSeconds, _problems);
    }

    private Lifecycle NewLifecycle(int index)
    {
        var roll = _random.NextDouble();
        var fault = roll switch
        {
            < 0.10 => Fault.ShimKill,
            < 0.20 => Fault.ShimStopContinue,
            < 0.25 => Fault.ShimStopKill,
            < 0.35 => Fault.DropConnection,
            _ => Fault.None,
        };
        if (fault != Fault.None) Count(fault.ToString());
        var longRunning = _random.NextDouble() < 0.5;
        // Only a running init gets an exec: an init that ends first takes its execs with it (137).
        return new Lifecycle(index, (uint)_random.Next(0, 100), longRunning, longRunning && _random.NextDouble() < 0.6, fault,
            _random.Next(0, 600));
    }

    private void Count(string fault)
    {
        lock (_faults) _faults[fault] = _faults.GetValueOrDefault(fault) + 1;
    }

    private Task<HostProcess> StartHostAsync() => _bench.StartAsync(TimeSpan.FromSeconds(60));

    /// <summary>The whole lifecycle on one host; null when done, else the lifecycle to finish (a step failed).</summary>
    private async Task<Lifecycle?> RunLifecycleAsync(Lifecycle l, HostProcess host)
    {
        try
        {
            await host.CreateAsync(l.Id, l.Args, _bench.Image);
            l.Created = true;
            await host.StartTaskAsync(l.Id);
            var fault = l.Fault == Fault.None ? Task.CompletedTask : InjectAsync(l, host);
            if (l.WithExec)
            {
                await host.ExecAsync(l.Id, "x", ["sh", "-c", "exit 5"]);
                await host.StartExecAsync(l.Id, "x");
                l.ExecStarted = true;
                Expect(l, "exec x", 5, await host.WaitExecAsync(l.Id, "x", TimeSpan.FromSeconds(30)));
                Expect(l, "exec x delete", 5, await host.DeleteExecAsync(l.Id, "x"));
            }
            await fault;
            if (l.LongRunning)
            {
                l.KilledByUs = true;
                await host.KillTaskAsync(l.Id, SigKill);
            }
            var status = await host.WaitTaskAsync(l.Id, TimeSpan.FromSeconds(40));
            Expect(l, "wait", l.LongRunning ? 137 : l.ExitStatus, status);
            Expect(l, "delete", status, await host.DeleteAsync(l.Id));
            await host.DeleteContainerAsync(l.Id);
            return null;
        }
        catch (Exception e) when (e is HostRequestException or InvalidOperationException or TimeoutException)
        {
            // A fault or the runtime's death got in the way: finished later, from what the host then reports.
            return l;
        }
    }

    private void Expect(Lifecycle l, string what, uint expected, uint got)
    {
        if (got != expected && !l.ShimFaulted)
            lock (_problems) _problems.Add($"{l}: {what} answered {got}, expected {expected}");
    }

    private async Task InjectAsync(Lifecycle l, HostProcess host)
    {
        await Task.Delay(l.FaultAfterMs);
        var shim = ShimOf(l.Id);
        if (shim is null) return;
        switch (l.Fault)
        {
            case Fault.ShimKill:
                HostProcesses.Kill(shim.Value);
                break;
            case Fault.ShimStopContinue:
                await Shell.RunAsync("kill", ["-STOP", shim.Value.ToString()]);
                await Task.Delay(_random.Next(100, 2000));
                await Shell.RunAsync("kill", ["-CONT", shim.Value.ToString()]);
                break;
            case Fault.ShimStopKill:
                await Shell.RunAsync("kill", ["-STOP", shim.Value.ToString()]);
                await Task.Delay(_random.Next(100, 1000));
                HostProcesses.Kill(shim.Value);
                break;
            case Fault.DropConnection:
                await host.DropConnectionAsync(l.Id);
                break;
        }
    }

    private int? ShimOf(string id)
    {
        var bundle = _bench.BundleOf(id);
        return HostProcesses.All().Where(p => HostProcesses.IsShim(p) && p.Cwd == bundle).Select(p => (int?)p.Pid).FirstOrDefault();
    }

    /// <summary>From whatever state it is in: its exec and init killed, waited for and deleted, then its metadata.</summary>
    private async Task FinishAsync(Lifecycle l)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await FinishOnceAsync(l, Host);
                return;
            }
            catch (Exception e) when (attempt < 3 && e is HostRequestException or TimeoutException)
            {
                await Task.Delay(1000);
            }
            catch (Exception e)
            {
                lock (_problems) _problems.Add($"{l}: could not be finished: {e.Message.Split('\n')[0]}");
                return;
            }
        }
    }

    private static async Task FinishOnceAsync(Lifecycle l, HostProcess host)
    {
        string status;
        try
        {
            status = (await host.StateAsync(l.Id))["status"]!.GetValue<string>();
            l.Created = true;
        }
        catch (HostRequestException e) when (e.Code == "NotFound")
        {
            status = "gone";
        }
        if (status != "gone")
        {
            if (l.WithExec)
            {
                l.KilledByUs = true;
                await TryAsync(() => host.KillExecAsync(l.Id, "x", SigKill));
                // An exec never started has no exit to wait for: its delete alone ends it.
                if (l.ExecStarted) await TryAsync(() => host.WaitExecAsync(l.Id, "x", TimeSpan.FromSeconds(10)));
                await TryAsync(() => host.DeleteExecAsync(l.Id, "x"));
            }
            if (status != "stopped")
            {
                l.KilledByUs = true;
                await TryAsync(() => host.KillTaskAsync(l.Id, SigKill));
            }
            await host.WaitTaskAsync(l.Id, TimeSpan.FromSeconds(30));
        }
        try
        {
            await host.DeleteContainerAsync(l.Id);
        }
        catch (HostRequestException e) when (e.Code == "NotFound" && status == "gone")
        {
            // Neither task nor metadata: the create never got as far as the metadata.
        }
    }

    private static async Task TryAsync(Func<Task> step)
    {
        try
        {
            await step();
        }
        catch (Exception e) when (e is HostRequestException or TimeoutException)
        {
        }
    }

    private IReadOnlyList<ExpectedRun> ExpectedRuns(IReadOnlyList<HostEvent> events)
    {
        var created = events.Where(e => e.Topic == Topics.Create).Select(e => e.ContainerId).ToHashSet();
        var execStarted = events.Where(e => e.Topic == Topics.ExecStarted).Select(e => e.ContainerId).ToHashSet();
        var runs = new List<ExpectedRun>();
        foreach (var l in _all)
        {
            var init = new HashSet<uint> { l.LongRunning ? 137 : l.ExitStatus };
            var exec = new HashSet<uint> { 5 };
            if (l.KilledByUs) init.Add(137);
            if (l.KilledByUs) exec.Add(137);
            if (l.ShimFaulted)
            {
                init.UnionWith([137, 255]);
                exec.UnionWith([137, 255]);
            }
            runs.Add(new ExpectedRun(l.Id, "", l.Created || created.Contains(l.Id), init));
            if (l.WithExec) runs.Add(new ExpectedRun(l.Id, "x", l.ExecStarted || execStarted.Contains(l.Id), exec));
        }
        return runs;
    }

    private static bool Ended(IReadOnlyList<HostEvent> events, IEnumerable<ExpectedRun> runs)
    {
        var exits = events.Where(e => e.Topic == Topics.Exit).Select(e => (e.ContainerId, e.ExecId)).ToHashSet();
        var deletes = events.Where(e => e.Topic == Topics.Delete).Select(e => e.ContainerId).ToHashSet();
        return runs.Where(r => r.MustEnd).All(r => exits.Contains((r.ContainerId, r.ExecId)) && (r.ExecId.Length > 0 || deletes.Contains(r.ContainerId)));
    }
}
