using ActorRuntime.Containers;
using ActorRuntime.Diagnostics;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.Shims;

/// <summary>
/// containerd's cleanupAfterDeadShim, the one cleanup for a shim we will not talk to again — one that died, one that
/// failed to start, one that would not shut down, one alive that no longer knows its task: run the shim binary's
/// <c>delete</c> under the cleanup timeout (it kills and removes what runc left, unmounts rootfs; it does not stop a
/// shim process that still serves, which is why a live one is asked to shut down first, see
/// <see cref="ShutDownLiveShimAsync"/>), settle what is owed, remove a stale socket, remove the bundle last (so the id
/// stays taken until everything else is done).
/// <para>What is owed is not decided here: the task's <see cref="ProcessRecord"/> says (its owner; see there). With a
/// record, what it says is owed goes to <see cref="Exits"/> (<see cref="SettleAsync"/>): each started exec's exit, the
/// init's exit unless published, and its delete with the same figures — the record's real exit if it holds one, else
/// the delete's pid, status and time, or 255 and now when the status is unknown. Without a record (a task never
/// created) nothing is published. The delete always reports 137 (it kills what is left), which is real only if it
/// killed the init: when the init had already exited (it ended while nothing watched and its shim died too) or was
/// not there at all (pid 0: the shim had deleted it) the status is lost, and we say so with 255.</para>
/// </summary>
public static class DeadShimCleanup
{
    public const uint UnknownExitStatus = 255;

    /// <summary>What the shim binary's delete reported (null when it failed), and whether the init had already ended before it.</summary>
    public sealed record ShimDeleted(ShimDeleteResult? Response, bool InitHadExited);

    /// <summary>The exit and delete the cleanup published (null when nothing was owed).</summary>
    public sealed record Outcome(ContainerKey Container, ExitWitness? Published);

    /// <summary>The cleanup after the shim of <paramref name="container"/>, settling what its record says is owed.</summary>
    internal static async Task<Outcome> RunAsync(ShimSettings settings, ShimServices services, ContainerKey container)
    {
        var timeout = settings.Runtime.CleanupTimeout;
        var owed = await OwedAsync(services, container, timeout).ConfigureAwait(false);
        ExitWitness? published = null;
        settings.FailPoints.Hit(FailPoint.CleanupBeforeShimDelete);
        await CleanUpAsync(Bundle.TryLoad(settings.StateDirectory, container.Namespace, container.Id), services.Launcher, timeout,
            services.ShimLog, async deleted =>
            {
                settings.FailPoints.Hit(FailPoint.CleanupAfterShimDelete);
                if (owed is not { } o) return;
                published = Witness(o.Task, deleted);
                // Settled before the bundle goes, so the id stays taken until then (or until the timeout).
                await SettleAsync(services, ExitWitness.Source.DeadShim, o.Task, o.Execs, published, timeout).ConfigureAwait(false);
                settings.FailPoints.Hit(FailPoint.CleanupAfterExitsWritten);
            }).ConfigureAwait(false);
        return new Outcome(container, published);
    }

    /// <summary>
    /// Offers what a task's records say is owed — each started exec's exit not yet published (its recorded exit, else
    /// 255 and now; containerd publishes one <c>/tasks/exit</c> per exec run and no delete; an exec that never started, by
    /// its record and by the bus, has no run and is owed nothing), the init's <paramref name="exit"/> unless published,
    /// then its delete with the same figures — and records each step once the bus has acknowledged it: an exec's record is forgotten, the init's says
    /// its exit is published (so a restart, however late, owes only the delete), and once the delete is written too
    /// the task's record is forgotten. Each record is changed only if it is still that run (a later Create of the id is
    /// another), so the bus may confirm after <paramref name="timeout"/>, when the caller has given up waiting: true
    /// when everything was confirmed in time. What the bus never confirms stays owed, and the next start settles it.
    /// </summary>
    internal static async Task<bool> SettleAsync(ShimServices services, ExitWitness.Source from, ProcessRecord task,
        IEnumerable<ProcessRecord> execs, ExitWitness exit, TimeSpan timeout)
    {
        // The door fails what the bus does not confirm within its own ack timeout; until then a late confirmation counts.
        var bound = Exits.DefaultAckTimeout + timeout;
        Task<bool> Offer(object witness) => Exits.TryEnterAsync(services.Exits, [witness], bound)
            .ContinueWith(t => t.Result is null, TaskScheduler.Default);
        var owedExecs = await OwedExecsAsync(services, execs, timeout).ConfigureAwait(false);
        // Offered at once and in this order, so the door enters them in this order.
        var execExits = owedExecs.OrderBy(e => e.Record.ExecId, StringComparer.Ordinal)
            .Select(e => (e.Record, Written: Offer(new Exits.Exited(
                ExitWitness.Unsure(from, e.Record, e.Pid, UnknownExitStatus, DateTimeOffset.UtcNow), WantAck: true))))
            .ToList();
        var exitWritten = exit.ExitPublished ? null : Offer(new Exits.Exited(exit, WantAck: true));
        var deleteWritten = Offer(new Exits.Deleted(exit, WantAck: true));

        async Task<bool> RecordAsync()
        {
            var execsDone = execExits.Select(async e =>
            {
                if (!await e.Written.ConfigureAwait(false)) return false;
                services.Processes.Tell(new ProcessStoreProtocol.ForgetRun(e.Record), ActorRefs.NoSender);
                return true;
            }).ToList();
            // One after the other, so the store hears that the exit is published before it forgets the record.
            if (exitWritten is not null)
            {
                if (!await exitWritten.ConfigureAwait(false)) return false;
                var exited = task.HasExited ? task : task.Exited(exit.ExitStatus, exit.ExitedAt ?? DateTimeOffset.UtcNow);
                services.Processes.Tell(new ProcessStoreProtocol.ExitPublished(exited), ActorRefs.NoSender);
            }
            if (!await deleteWritten.ConfigureAwait(false)) return false;
            // A task's record goes with its execs', so only once every exec's exit is written too.
            if ((await Task.WhenAll(execsDone).ConfigureAwait(false)).Any(written => !written)) return false;
            services.Processes.Tell(new ProcessStoreProtocol.ForgetRun(task), ActorRefs.NoSender);
            return true;
        }

        var recording = RecordAsync();
        try
        {
            if (await recording.WaitAsync(timeout).ConfigureAwait(false)) return true;
        }
        catch (TimeoutException)
        {
        }
        services.ShimLog.LogWarning("{Id}: the event bus did not confirm the owed exits within {Timeout}; what it has not " +
            "confirmed stays owed and the next start settles it", task.ContainerId, timeout);
        return false;
    }

    /// <summary>
    /// The execs whose exit is owed, with the pid to report (0: the record's): each that ran by its record, and each whose
    /// record never learnt it started — the shim died, or we did, between its Start and the reply — while the bus holds
    /// its <c>/tasks/exec-started</c> (the shim's own) and no exit: that exec ran, and its run must end too.
    /// </summary>
    private static async Task<IReadOnlyList<(ProcessRecord Record, uint Pid)>> OwedExecsAsync(ShimServices services,
        IEnumerable<ProcessRecord> execs, TimeSpan timeout)
    {
        var owed = new List<(ProcessRecord, uint)>();
        foreach (var exec in execs.Where(e => !e.ExitPublished))
        {
            if (exec.ExitOwed)
            {
                owed.Add((exec, 0));
                continue;
            }
            var key = new Events.RunKey(exec.Namespace, exec.ContainerId, exec.ExecId);
            try
            {
                var info = await services.EventBus.Ask<Events.EventBusProtocol.RunInfo>(new Events.EventBusProtocol.GetRun(key), timeout)
                    .ConfigureAwait(false);
                if (info.Run is { Started: true, Exited: false } run) owed.Add((exec, run.Pid));
            }
            catch (Exception e) when (e is AskTimeoutException or UnavailableException)
            {
                // The bus cannot say: as the record has no run, nothing is offered for it.
                services.ShimLog.LogWarning("{Id}/{Exec}: the event bus did not say whether the exec started ({Error})",
                    exec.ContainerId, exec.ExecId, e.Message);
            }
        }
        return owed;
    }

    /// <summary>
    /// A shim that answers but no longer knows its task — a crash between its Delete and our teardown, or between its
    /// <c>start</c> and Create — serves nothing any more, and the binary's <c>delete</c> would leave it (and its socket)
    /// running for ever: it is asked to shut down (it exits when it holds no container) before the cleanup runs.
    /// </summary>
    internal static async Task ShutDownLiveShimAsync(ShimConnection connection, string containerId, ILogger logger)
    {
        try
        {
            await connection.ShutDownShimAsync(containerId).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TtrpcException or TimeoutException)
        {
            logger.LogWarning("{Id}: its shim no longer knows the task and did not shut down: {Error}", containerId, e.Message);
        }
    }

    /// <summary>
    /// Runs <c>delete</c> (if there is a bundle; a failure is logged, not thrown — a shim that never saw a Create has no
    /// <c>runtime</c> file and its delete fails, yet the bundle must still go), then <paramref name="settle"/>, then
    /// removes a stale socket and the bundle.
    /// </summary>
    public static async Task<ShimDeleted> CleanUpAsync(Bundle? bundle, IShimLauncher launcher, TimeSpan timeout, ILogger logger,
        Func<ShimDeleted, Task>? settle = null)
    {
        ShimDeleteResult? response = null;
        var initHadExited = false;
        if (bundle is not null)
        {
            if (!SharesItsShim(bundle)) await KillShimInAsync(bundle, logger).ConfigureAwait(false);
            initHadExited = InitAlive(bundle) == false;
            try
            {
                response = await launcher.DeleteAsync(bundle, timeout, CancellationToken.None, logger).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                logger.LogWarning("cleanup of {Bundle}: shim delete failed: {Error}", bundle, e.Message);
            }
        }
        var deleted = new ShimDeleted(response, initHadExited);
        if (bundle is not null) CgroupLeftovers.RemoveEmpty(bundle, logger);
        if (settle is not null) await settle(deleted).ConfigureAwait(false);
        if (bundle?.ReadAddress() is { } address && !await ShimSocket.RemoveIfStaleAsync(address).ConfigureAwait(false))
            await ShutDownIfServingAsync(address, bundle.Id, timeout, logger).ConfigureAwait(false);
        bundle?.Delete();
        return deleted;
    }

    /// <summary>
    /// A shim still serving after its binary's delete (its connection to us dropped, not the shim): the delete removed
    /// its container, so a Shutdown makes it exit and remove its socket; a shim of a group that still hosts others
    /// declines, as it should. Without this it would serve nothing, for ever.
    /// </summary>
    private static async Task ShutDownIfServingAsync(string address, string id, TimeSpan timeout, ILogger logger)
    {
        try
        {
            using var deadline = new CancellationTokenSource(timeout);
            await using var client = await TtrpcClient.ConnectAsync(address, deadline.Token).ConfigureAwait(false);
            try
            {
                await new ShimTaskClient(client).ShutdownAsync(new ShutdownRequest { Id = id }, new CallOptions(timeout), deadline.Token)
                    .ConfigureAwait(false);
            }
            catch (TtrpcClosedException)
            {
                // It exited before its reply was read: what Shutdown asked for.
            }
            await client.Closed.WaitAsync(deadline.Token).ConfigureAwait(false);
            logger.LogInformation("{Id}: its shim still served after the cleanup's delete and was shut down", id);
        }
        catch (Exception e) when (e is TtrpcException or IOException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            logger.LogWarning("{Id}: its shim still serves after the cleanup's delete and did not shut down: {Error}", id, e.Message);
        }
    }

    /// <summary>
    /// True when another bundle of the namespace records the same shim address: a shim grouped by annotation serves
    /// them too and must not be killed for this one (it is asked to shut down instead, and declines while they remain).
    /// </summary>
    private static bool SharesItsShim(Bundle bundle)
    {
        if (bundle.ReadAddress() is not { } address) return false;
        var namespaceDir = Path.GetDirectoryName(bundle.Path)!;
        return Directory.EnumerateDirectories(namespaceDir)
            .Where(d => d != bundle.Path)
            .Any(d => Bundle.TryLoad(Path.GetDirectoryName(namespaceDir)!, bundle.Namespace, Path.GetFileName(d))?.ReadAddress() == address);
    }

    /// <summary>
    /// The shim may not be dead at all — its connection dropped, it hung (SIGSTOP), or it has no task — and would outlive
    /// its bundle and socket, so it is made dead first: the process whose working directory is the bundle (start runs it
    /// there) is SIGKILLed and awaited. Its container is not its child's fate: delete (next) kills that.
    /// </summary>
    private static async Task KillShimInAsync(Bundle bundle, ILogger logger)
    {
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(proc), out var pid) || pid == Environment.ProcessId) continue;
            try
            {
                if (new DirectoryInfo(Path.Combine(proc, "cwd")).LinkTarget != bundle.Path) continue;
                using var shim = System.Diagnostics.Process.GetProcessById(pid);
                logger.LogWarning("cleanup of {Bundle}: its shim {Pid} still runs; killing it", bundle, pid);
                shim.Kill();
                using var gone = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await shim.WaitForExitAsync(gone.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException
                                          or OperationCanceledException or System.ComponentModel.Win32Exception)
            {
                // gone meanwhile, or not ours to see: the delete and the stale-socket check still follow
            }
        }
    }

    /// <summary>The exit a dead shim's task is owed: see the class comment.</summary>
    private static ExitWitness Witness(ProcessRecord record, ShimDeleted deleted)
    {
        if (deleted.Response is not { } d)
            return ExitWitness.Unsure(ExitWitness.Source.DeadShim, record, 0, UnknownExitStatus, DateTimeOffset.UtcNow);
        // A delete that found no init (pid 0: the shim had deleted it already) or found it ended reports no real status.
        var unknown = deleted.InitHadExited || d.Pid == 0;
        return ExitWitness.Unsure(ExitWitness.Source.DeadShim, record, d.Pid, unknown ? UnknownExitStatus : d.ExitStatus, d.ExitedAt);
    }

    /// <summary>
    /// The task's record and its execs' records, or null when it has none (never created, or deleted). When the store does not answer, nothing
    /// is settled now and the record stays: the next start settles it (its bundle will be gone).
    /// </summary>
    private static async Task<(ProcessRecord Task, IReadOnlyList<ProcessRecord> Execs)?> OwedAsync(ShimServices services,
        ContainerKey container, TimeSpan timeout)
    {
        try
        {
            var all = await services.Processes.Ask<ProcessStoreProtocol.All>(new ProcessStoreProtocol.GetAll(), timeout).ConfigureAwait(false);
            var ours = all.Tasks.Where(t => t.Namespace == container.Namespace && t.ContainerId == container.Id).ToList();
            return ours.FirstOrDefault(t => t.ExecId.Length == 0) is { } task
                ? (task, ours.Where(t => t.ExecId.Length > 0).ToList())
                : null;
        }
        catch (Exception e)
        {
            services.ShimLog.LogError("cleanup of {Id}: the process store did not answer ({Error}); its exit is settled at the next start",
                container, e.Message);
            return null;
        }
    }

    /// <summary>
    /// Whether the container's init (the pid the shim wrote to init.pid at Create) still runs: null when unknown.
    /// With its shim dead, an exited init has been reaped by PID 1, so a missing or zombie process means it ended.
    /// </summary>
    private static bool? InitAlive(Bundle bundle)
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(bundle.Path, "init.pid")).Trim();
            if (!int.TryParse(text, out var pid) || pid <= 0) return null;
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Field 3, after the parenthesised command name, is the state.
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z" && state != "X";
        }
        catch (FileNotFoundException)
        {
            return File.Exists(Path.Combine(bundle.Path, "init.pid")) ? false : null;
        }
        catch (DirectoryNotFoundException)
        {
            return false;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
