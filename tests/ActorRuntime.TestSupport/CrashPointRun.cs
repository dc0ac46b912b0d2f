using System.Security.Cryptography;
using System.Text;
using ActorRuntime.Diagnostics;
using ActorRuntime.Events;
using ActorRuntime.Shims;

namespace ActorRuntime.Testing;

/// <summary>Where a crash-point run keeps everything: its own directories and namespace.</summary>
public sealed record CrashPointPlace(string Root, string StateDirectory, string RuncRoot, string Namespace, string Image)
{
    /// <summary>How long the bus remembers finished runs (null: the default 10 min); short, every restart outlives it.</summary>
    public TimeSpan? EventRetention { get; init; }

    public IReadOnlyList<string> HostArguments =>
        ["--root", Path.Combine(Root, "root"), "--state-dir", StateDirectory, "--namespace", Namespace, "--runc-root", RuncRoot,
            .. EventRetention is { } r ? new[] { "--event-retention", ((long)r.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture) } : []];

    /// <summary>The shim socket of a container: what <c>start</c> derives from our gRPC address, namespace and id.</summary>
    public string ShimAddress(string id) =>
        "unix:///run/containerd/s/" + Convert.ToHexStringLower(SHA256.HashData(
            Encoding.UTF8.GetBytes($"{Path.Combine(StateDirectory, "actorruntime.sock")}/{Namespace}/{id}")));
}

/// <summary>What one crash-point run saw: whether the point was hit, the audit of the final event list, and other problems.</summary>
public sealed record CrashPointOutcome(string FailPoint, bool Hit, int Generations, AuditResult Audit, IReadOnlyList<string> Problems,
    IReadOnlyList<HostEvent> Events)
{
    public IEnumerable<string> AllProblems => (Hit ? [] : new[] { $"{FailPoint} was never hit" }).Concat(Problems).Concat(Audit.Problems);
}

/// <summary>
/// One walk of one crash point against real actorruntime-host processes and real shims: the point is armed in the host
/// generation that reaches it, a container's lifecycle with two execs is driven until the host kills itself there, a
/// new (unarmed) generation finishes what is left, and the raw event list of the last generation (which replays the
/// whole journal from offset 0) is audited (<see cref="ExitAudit"/>). Operations the first generation runs (create,
/// start, exec, kill, delete) are armed there; reload, cleanup and settle happen when a generation starts, so the host
/// is SIGKILLed mid-lifecycle first (for cleanup the shim too; for settle a reboot is imitated: shim, container and
/// bundle gone) and the second generation is the armed one. Asserts nothing itself; leaks are the caller's to check.
/// </summary>
public sealed class CrashPointRun : IAsyncDisposable
{
    private const string Id = "box";
    private const uint SigKill = 9;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DeathTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(20);

    private readonly CrashPointPlace _place;
    private readonly string _failPoint;
    private readonly TextWriter _log;
    private readonly List<HostProcess> _generations = [];
    private readonly List<string> _problems = [];
    // What the test itself saw happen: evidence that a run exists.
    private bool _created, _execLongStarted, _execQuickStarted;
    private int _started;
    // The output of a generation that died before its readiness line (HostProcess keeps no such generation).
    private string? _diedStarting;

    private CrashPointRun(CrashPointPlace place, string failPoint, TextWriter log)
    {
        _place = place;
        _failPoint = failPoint;
        _log = log;
    }

    /// <summary>How the operation of a crash point is reached.</summary>
    private enum Stage { Lifecycle, Reload, Cleanup, Settle }

    private static Stage StageOf(string failPoint) => FailPoint.Operation(failPoint) switch
    {
        "reload" => Stage.Reload,
        "cleanup" => Stage.Cleanup,
        "settle" => Stage.Settle,
        _ => Stage.Lifecycle,
    };

    /// <summary>Whether the shim survives the scenario (then it knows every real exit status; otherwise 255 may be all there is).</summary>
    private bool ShimSurvives => StageOf(_failPoint) is Stage.Lifecycle or Stage.Reload;

    private HostProcess Host => _generations[^1];

    public IReadOnlyList<HostProcess> Generations => _generations;

    public static async Task<CrashPointOutcome> RunAsync(CrashPointPlace place, string failPoint, TextWriter log)
    {
        await using var run = new CrashPointRun(place, failPoint, log);
        return await run.WalkAsync();
    }

    private async Task<CrashPointOutcome> WalkAsync()
    {
        var stage = StageOf(_failPoint);
        var armed = stage == Stage.Lifecycle;
        await StartGenerationAsync(armed);
        if (armed)
        {
            await LifecycleAsync(untilExecsRun: false);
        }
        else
        {
            // The container runs with an exec running and one exited (reaped, not deleted) when the host goes.
            await LifecycleAsync(untilExecsRun: true);
            await Host.KillAsync();
            if (stage is Stage.Cleanup or Stage.Settle) await KillShimAsync();
            if (stage is Stage.Settle) Reboot();
            await StartGenerationAsync(armed: true, mayDie: true);
        }
        var hit = await DiedAtFailPointAsync();
        if (!hit) _log.WriteLine($"{_failPoint}: not hit");
        if (_diedStarting is not null || Host.HasExited) await StartGenerationAsync(armed: false);
        await FinishAsync();
        var runs = ExpectedRuns();
        if (runs.Any(r => r.MustEnd))
            await Eventually.EventuallyAsync(() => Ended(Host.Events, runs), "every run's exit and delete", EventTimeout, AllEvents);
        // A late duplicate gets a moment to show up before the count.
        await Task.Delay(300);
        await Host.KillAsync();
        CheckGenerationsAgree();
        var events = Host.Events;
        return new CrashPointOutcome(_failPoint, hit, _generations.Count, ExitAudit.Check(events, runs), _problems, events);
    }

    private static bool Ended(IReadOnlyList<HostEvent> events, IEnumerable<ExpectedRun> runs) =>
        runs.Where(r => r.MustEnd).All(r =>
            events.Any(e => e.ContainerId == r.ContainerId && e.ExecId == r.ExecId && e.Topic == Topics.Exit) &&
            (r.ExecId.Length > 0 || events.Any(e => e.ContainerId == r.ContainerId && e.Topic == Topics.Delete)));

    private string AllEvents() => string.Join("\n", _generations.SelectMany(g => g.Events)) + "\n" + Host.StderrTail;

    private async Task StartGenerationAsync(bool armed, bool mayDie = false)
    {
        var arguments = _place.HostArguments.ToList();
        if (armed) arguments.AddRange(["--fail-point", _failPoint]);
        HostProcess host;
        try
        {
            host = await HostProcess.StartAsync(arguments, _started++, ReadyTimeout);
        }
        catch (Exception e) when (mayDie)
        {
            // It died while reloading (at the armed point, checked next); its stderr tail is in the message.
            _log.WriteLine($"{_failPoint}: generation {_started - 1} died starting");
            _diedStarting = e.ToString();
            return;
        }
        _diedStarting = null;
        _generations.Add(host);
        _log.WriteLine($"{_failPoint}: generation {host.Generation} (pid {host.Pid}{(armed ? ", armed" : "")}) ready");
    }

    /// <summary>
    /// Create, start, an exec that runs (long) and one that exits 3 (quick), then (unless <paramref name="untilExecsRun"/>)
    /// the quick one's wait and delete, the long one's kill, wait and delete, the init's kill, wait and delete. Stops at
    /// the first step the host does not survive.
    /// </summary>
    private async Task LifecycleAsync(bool untilExecsRun)
    {
        _ = await StepAsync("create", async () =>
            {
                await Host.CreateAsync(Id, ["sleep", "1000"], _place.Image);
                _created = true;
            }) &&
            await StepAsync("start", () => Host.StartTaskAsync(Id)) &&
            await StepAsync("exec long", () => Host.ExecAsync(Id, "long", ["sleep", "1000"])) &&
            await StepAsync("exec-start long", async () =>
            {
                await Host.StartExecAsync(Id, "long");
                _execLongStarted = true;
            }) &&
            await StepAsync("exec quick", () => Host.ExecAsync(Id, "quick", ["sh", "-c", "exit 3"])) &&
            await StepAsync("exec-start quick", async () =>
            {
                await Host.StartExecAsync(Id, "quick");
                _execQuickStarted = true;
            }) &&
            await StepAsync("exec-wait quick", () => Expect(3, Host.WaitExecAsync(Id, "quick", TimeSpan.FromSeconds(10)))) &&
            (untilExecsRun ||
             (await StepAsync("exec-delete quick", () => Expect(3, Host.DeleteExecAsync(Id, "quick"))) &&
              await StepAsync("exec-kill long", () => Host.KillExecAsync(Id, "long", SigKill)) &&
              await StepAsync("exec-wait long", () => Expect(137, Host.WaitExecAsync(Id, "long", TimeSpan.FromSeconds(10)))) &&
              await StepAsync("exec-delete long", () => Expect(137, Host.DeleteExecAsync(Id, "long"))) &&
              await StepAsync("kill", () => Host.KillTaskAsync(Id, SigKill)) &&
              await StepAsync("wait", () => Expect(137, Host.WaitTaskAsync(Id, TimeSpan.FromSeconds(10)))) &&
              await StepAsync("delete", () => Expect(137, Host.DeleteAsync(Id)))));
    }

    private async Task Expect(uint status, Task<uint> answer)
    {
        var got = await answer;
        if (got != status) _problems.Add($"g{Host.Generation}: answered exit status {got}, expected {status}");
    }

    /// <summary>Runs one step; false once the host is gone (it died at the armed point), a problem if it failed otherwise.</summary>
    private async Task<bool> StepAsync(string what, Func<Task> step)
    {
        if (Host.HasExited) return false;
        try
        {
            await step();
            return true;
        }
        catch (HostRequestException e)
        {
            // An answer: the host is alive and refused.
            _problems.Add($"g{Host.Generation}: {what} failed: {e.Message}");
            return false;
        }
        catch (Exception e)
        {
            try
            {
                await Host.WaitForExitAsync(TimeSpan.FromSeconds(3));
                _log.WriteLine($"{_failPoint}: host g{Host.Generation} died during {what}");
                return false;
            }
            catch (TimeoutException)
            {
                _problems.Add($"g{Host.Generation}: {what} failed: {e.Message.Split('\n')[0]}");
                return false;
            }
        }
    }

    /// <summary>Waits for the armed generation to die and tells whether it was at the armed point.</summary>
    private async Task<bool> DiedAtFailPointAsync()
    {
        var line = $"fail-point {_failPoint} hit";
        if (_diedStarting is { } output) return output.Contains(line, StringComparison.Ordinal);
        try
        {
            await Host.WaitForExitAsync(DeathTimeout);
        }
        catch (TimeoutException)
        {
            return false;
        }
        return Host.StderrTail.Contains(line, StringComparison.Ordinal);
    }

    /// <summary>
    /// Brings the container to its end from whatever state the crash left: the execs killed, waited for and deleted, the
    /// init killed, waited for and deleted; then the metadata. A task already gone (cleaned up) is fine.
    /// </summary>
    private async Task FinishAsync()
    {
        var exists = true;
        try
        {
            await Host.StateAsync(Id);
        }
        catch (HostRequestException e) when (e.Code == "NotFound")
        {
            exists = false; // cleaned up, settled or never created: the audit judges whether that is right
        }
        if (exists)
        {
            _created = true;
            foreach (var exec in new[] { "quick", "long" })
            {
                await TryAsync(() => Host.KillExecAsync(Id, exec, SigKill));
                // An exec the crash left added but not started has no exit to wait for (DeadlineExceeded): deleted all the same.
                await TryAsync(() => Host.WaitExecAsync(Id, exec, TimeSpan.FromSeconds(3)));
                await TryAsync(() => Host.DeleteExecAsync(Id, exec));
            }
            await TryAsync(() => Host.KillTaskAsync(Id, SigKill));
            await StepAsync("wait after restart", () => Host.WaitTaskAsync(Id, TimeSpan.FromSeconds(10)));
        }
        await StepAsync("delete after restart", () => Host.DeleteContainerAsync(Id));
        if ((await Host.ListAsync()).Count != 0) _problems.Add($"g{Host.Generation}: tasks listed after the delete");
    }

    /// <summary>A finishing step whose failure only means there was nothing left to do (NotFound, already stopped, never started).</summary>
    private static async Task TryAsync(Func<Task> step)
    {
        try
        {
            await step();
        }
        catch (HostRequestException)
        {
        }
    }

    private IReadOnlyList<ExpectedRun> ExpectedRuns()
    {
        IReadOnlySet<uint> Allowed(uint status) => ShimSurvives ? new HashSet<uint> { status } : new HashSet<uint> { status, 255 };
        var events = Host.Events;
        bool Seen(string execId, string topic) => events.Any(e => e.ContainerId == Id && e.ExecId == execId && e.Topic == topic);
        return
        [
            new ExpectedRun(Id, "", _created || Seen("", Topics.Create), Allowed(137)),
            new ExpectedRun(Id, "long", _execLongStarted || Seen("long", Topics.ExecStarted), Allowed(137)),
            new ExpectedRun(Id, "quick", _execQuickStarted || Seen("quick", Topics.ExecStarted), Allowed(3)),
        ];
    }

    /// <summary>Every generation replays the journal from offset 0: what an earlier one received, the last must have identically.</summary>
    private void CheckGenerationsAgree()
    {
        var last = Host.Events.GroupBy(e => e.Offset).ToDictionary(g => g.Key, g => g.First());
        foreach (var earlier in _generations.Take(_generations.Count - 1).SelectMany(g => g.Events))
        {
            if (!last.TryGetValue(earlier.Offset, out var again))
                _problems.Add($"{earlier} is missing from the last generation's replay");
            else if (again with { Generation = earlier.Generation } != earlier)
                _problems.Add($"{earlier} came back as {again}");
        }
    }

    private async Task KillShimAsync()
    {
        var bundle = Bundle.Load(_place.StateDirectory, _place.Namespace, Id).Path;
        var shims = HostProcesses.All().Where(p => HostProcesses.IsShim(p) && p.Cwd == bundle).ToList();
        if (shims.Count != 1) throw new InvalidOperationException($"expected one shim in {bundle}, found {shims.Count}");
        HostProcesses.Kill(shims[0].Pid);
        await HostProcesses.WaitUntilGoneAsync(shims[0].Pid, TimeSpan.FromSeconds(5));
    }

    /// <summary>What a reboot leaves (state directories are on tmpfs): no container, no mount, no bundle; the durable records stay.</summary>
    private void Reboot()
    {
        var bundle = Bundle.Load(_place.StateDirectory, _place.Namespace, Id).Path;
        HostProcesses.Run("runc", "--root", Path.Combine(_place.RuncRoot, _place.Namespace), "delete", "--force", Id);
        HostProcesses.Run("umount", Path.Combine(bundle, "rootfs"));
        Directory.Delete(bundle, recursive: true);
        File.Delete(Protocol.Ttrpc.UnixSocket.PathOf(_place.ShimAddress(Id)));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var g in _generations) await g.DisposeAsync();
    }
}
