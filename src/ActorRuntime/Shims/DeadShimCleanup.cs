using ActorRuntime.Diagnostics;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.Shims;

/// <summary>
/// containerd's cleanupAfterDeadShim, the one cleanup for a shim we will not talk to again — one that died, one that
/// failed to start, one that would not shut down: run the shim binary's <c>delete</c> under the cleanup timeout (it kills
/// and removes what runc left, unmounts rootfs), settle what is owed, remove a stale socket, remove the bundle last
/// (so the id stays taken until everything else is done).
/// <para>What is owed is not decided here: the task's <see cref="ProcessRecord"/> says (its owner; see there). With a
/// record, the exit and the delete go to <see cref="Exits"/> — the record's real exit if it holds one, else the delete's
/// pid, status and time, or 255 and now when the delete failed — each started exec's exit before them (its recorded
/// exit, else 255), and once the bus has acknowledged writing all of them the record is forgotten (unconfirmed, it
/// stays for the next start to settle). One refinement: the delete
/// always reports 137 (it kills what is left); when the init had already exited before it (it ended while nothing
/// watched and its shim died too) its real status is lost, and we say so with 255.</para>
/// </summary>
public static class DeadShimCleanup
{
    public const uint UnknownExitStatus = 255;

    /// <summary>What the shim binary's delete reported (null when it failed), and whether the init had already ended before it.</summary>
    public sealed record ShimDeleted(ShimDeleteResult? Response, bool InitHadExited);

    /// <summary>The exit and delete the cleanup published (null when nothing was owed).</summary>
    public sealed record Outcome(string ContainerId, ExitWitness? Published);

    /// <summary>The cleanup after the shim of <paramref name="containerId"/>, settling what its record says is owed.</summary>
    internal static async Task<Outcome> RunAsync(ShimSettings settings, ShimServices services, string containerId)
    {
        var timeout = settings.Runtime.CleanupTimeout;
        var owed = await OwedAsync(settings, services, containerId, timeout).ConfigureAwait(false);
        ExitWitness? published = null;
        settings.FailPoints.Hit(FailPoint.CleanupBeforeShimDelete);
        await CleanUpAsync(Bundle.TryLoad(settings.StateDirectory, settings.Namespace, containerId), services.Launcher, timeout,
            services.ShimLog, async deleted =>
            {
                settings.FailPoints.Hit(FailPoint.CleanupAfterShimDelete);
                if (owed is not { } o) return;
                var (task, execs) = o;
                published = Witness(task, deleted);
                var witnesses = ExecExits(ExitWitness.Source.DeadShim, execs)
                    .Append<object>(new Exits.Deleted(published, WantAck: true));
                // The record is forgotten only once the bus has written what it says is owed (and before the bundle goes,
                // so the id stays taken until then). Unconfirmed, it stays: the next start settles it (its bundle gone).
                var entered = await EnteredAsync(services, containerId, witnesses, timeout).ConfigureAwait(false);
                settings.FailPoints.Hit(FailPoint.CleanupAfterExitsWritten);
                if (entered)
                    services.Processes.Tell(new ProcessStoreProtocol.Forget(settings.Namespace, containerId), ActorRefs.NoSender);
            }).ConfigureAwait(false);
        return new Outcome(containerId, published);
    }

    /// <summary>
    /// The exits owed to a container's execs when its shim is gone or its bundle lost (containerd publishes one
    /// <c>/tasks/exit</c> per exec run and no delete): for every exec that was started, its recorded exit, else 255 and
    /// now. An exec never started has no run and is owed nothing. Offered before the init's exit and delete.
    /// </summary>
    internal static IEnumerable<object> ExecExits(ExitWitness.Source from, IEnumerable<ProcessRecord> execs) =>
        execs.Where(e => e.HasExited || e.Pid != 0)
            .OrderBy(e => e.ExecId, StringComparer.Ordinal)
            .Select(e => new Exits.Exited(ExitWitness.Unsure(from, e, 0, UnknownExitStatus, DateTimeOffset.UtcNow), WantAck: true));

    /// <summary>Whether the bus acknowledged the write of everything <paramref name="witnesses"/> brought (logged when not).</summary>
    internal static async Task<bool> EnteredAsync(ShimServices services, string containerId, IEnumerable<object> witnesses, TimeSpan timeout)
    {
        if (await Exits.TryEnterAsync(services.Exits, witnesses, timeout).ConfigureAwait(false) is not { } error) return true;
        services.ShimLog.LogWarning("{Id}: the event bus did not confirm the owed exits within {Timeout} ({Error}); " +
            "the record stays and the next start settles it", containerId, timeout, error.Message);
        return false;
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
            await KillShimInAsync(bundle, logger).ConfigureAwait(false);
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
        if (settle is not null) await settle(deleted).ConfigureAwait(false);
        if (bundle?.ReadAddress() is { } address) await ShimSocket.RemoveIfStaleAsync(address).ConfigureAwait(false);
        bundle?.Delete();
        return deleted;
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
        return ExitWitness.Unsure(ExitWitness.Source.DeadShim, record, d.Pid, deleted.InitHadExited ? UnknownExitStatus : d.ExitStatus,
            d.ExitedAt);
    }

    /// <summary>
    /// The task's record and its execs' records, or null when it has none (never created, or deleted). When the store does not answer, nothing
    /// is settled now and the record stays: the next start settles it (its bundle will be gone).
    /// </summary>
    private static async Task<(ProcessRecord Task, IReadOnlyList<ProcessRecord> Execs)?> OwedAsync(ShimSettings settings,
        ShimServices services, string containerId, TimeSpan timeout)
    {
        try
        {
            var all = await services.Processes.Ask<ProcessStoreProtocol.All>(new ProcessStoreProtocol.GetAll(), timeout).ConfigureAwait(false);
            var ours = all.Tasks.Where(t => t.Namespace == settings.Namespace && t.ContainerId == containerId).ToList();
            return ours.FirstOrDefault(t => t.ExecId.Length == 0) is { } task
                ? (task, ours.Where(t => t.ExecId.Length > 0).ToList())
                : null;
        }
        catch (Exception e)
        {
            services.ShimLog.LogError("cleanup of {Id}: the process store did not answer ({Error}); its exit is settled at the next start",
                containerId, e.Message);
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
