using System.Collections.Frozen;
using System.Diagnostics;
using System.Reflection;

namespace ActorRuntime.Diagnostics;

/// <summary>
/// The named crash points of the runtime (see <see cref="FailPoints"/>): before and after each durable write, each shim
/// call and each cleanup step of create, start, exec, kill, delete, reload and settle. Names are
/// <c>&lt;operation&gt;.&lt;step&gt;</c>; <see cref="All"/> lists them so specs and the soak can walk every one.
/// </summary>
public static class FailPoint
{
    // create: ShimActor makes the bundle and starts the shim, TaskActor calls Create and records the task.
    public const string CreateAfterBundleWritten = "create.after-bundle-written";
    public const string CreateAfterShimStarted = "create.after-shim-started";
    public const string CreateBeforeShimCall = "create.before-shim-call";
    public const string CreateAfterShimCall = "create.after-shim-call";
    public const string CreateAfterRecordWritten = "create.after-record-written";

    public const string StartBeforeShimCall = "start.before-shim-call";
    public const string StartAfterShimCall = "start.after-shim-call";
    public const string StartAfterRecordWritten = "start.after-record-written";

    // exec: the exec's Exec call (exec.*) and its Start (exec-start.*).
    public const string ExecBeforeShimCall = "exec.before-shim-call";
    public const string ExecAfterShimCall = "exec.after-shim-call";
    public const string ExecAfterRecordWritten = "exec.after-record-written";
    public const string ExecStartBeforeShimCall = "exec-start.before-shim-call";
    public const string ExecStartAfterShimCall = "exec-start.after-shim-call";
    public const string ExecStartAfterRecordWritten = "exec-start.after-record-written";

    // kill: of the init and of an exec (no record changes).
    public const string KillBeforeShimCall = "kill.before-shim-call";
    public const string KillAfterShimCall = "kill.after-shim-call";
    public const string ExecKillBeforeShimCall = "exec-kill.before-shim-call";
    public const string ExecKillAfterShimCall = "exec-kill.after-shim-call";

    // delete: the shim's Delete, the exit and delete written by the bus, the record forgotten, the shim shut down.
    public const string DeleteBeforeShimCall = "delete.before-shim-call";
    public const string DeleteAfterShimCall = "delete.after-shim-call";
    public const string DeleteAfterExitWritten = "delete.after-exit-written";
    public const string DeleteBeforeShimShutdown = "delete.before-shim-shutdown";
    public const string DeleteAfterShimShutdown = "delete.after-shim-shutdown";
    public const string ExecDeleteBeforeShimCall = "exec-delete.before-shim-call";
    public const string ExecDeleteAfterShimCall = "exec-delete.after-shim-call";
    public const string ExecDeleteAfterExitWritten = "exec-delete.after-exit-written";

    // reload: a shim found on disk at start is reconnected and asked for its task's state; recorded execs re-attach.
    public const string ReloadBeforeShimCall = "reload.before-shim-call";
    public const string ReloadAfterShimCall = "reload.after-shim-call";
    public const string ReloadAfterExecReattached = "reload.after-exec-reattached";

    // settle: records whose bundle is gone at start, and the dead-shim cleanup (shim delete, exits written, record forgotten).
    public const string SettleBeforeExitsWritten = "settle.before-exits-written";
    public const string SettleAfterExitsWritten = "settle.after-exits-written";
    public const string CleanupBeforeShimDelete = "cleanup.before-shim-delete";
    public const string CleanupAfterShimDelete = "cleanup.after-shim-delete";
    public const string CleanupAfterExitsWritten = "cleanup.after-exits-written";

    /// <summary>Every crash point, in declaration order.</summary>
    public static IReadOnlyList<string> All { get; } = typeof(FailPoint)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral)
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToList();

    /// <summary>The operation a crash point belongs to (the part before the dot).</summary>
    public static string Operation(string name) => name[..name.IndexOf('.')];
}

/// <summary>
/// Crash points armed by configuration (<c>actor-runtime.fail-points.armed</c>, or <see cref="Configuration.ActorRuntimeOptions.FailPoints"/>),
/// as containerd's failpoint tests arm theirs: <see cref="Hit"/> does nothing unless its point is armed; an armed one
/// writes one line (<c>fail-point NAME hit</c>) to stderr and SIGKILLs the process on the spot. SIGKILL, not
/// <see cref="Environment.FailFast(string)"/>: FailFast aborts (SIGABRT, a core dump where enabled) and is slower; a
/// SIGKILL runs nothing after it — no finally, no PostStop, no journal flush — as an OOM kill or power cut would.
/// </summary>
public sealed class FailPoints
{
    /// <summary>Nothing armed: every <see cref="Hit"/> is one lookup in an empty set.</summary>
    public static FailPoints None { get; } = new([]);

    private readonly FrozenSet<string> _armed;

    /// <exception cref="ArgumentException">A name that is not one of <see cref="FailPoint.All"/>.</exception>
    public FailPoints(IEnumerable<string> armed)
    {
        _armed = armed.ToFrozenSet(StringComparer.Ordinal);
        var unknown = _armed.Except(FailPoint.All).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"unknown fail-point(s) {string.Join(", ", unknown)}; known: {string.Join(", ", FailPoint.All)}");
    }

    public IReadOnlyCollection<string> Armed => _armed;

    /// <summary>The points armed by <c>actor-runtime.fail-points.armed</c>.</summary>
    public static FailPoints Create(Akka.Configuration.Config config) =>
        config.GetStringList("actor-runtime.fail-points.armed", []) is { Count: > 0 } armed ? new FailPoints(armed) : None;

    /// <summary>Kills the process here if <paramref name="name"/> is armed.</summary>
    public void Hit(string name)
    {
        if (_armed.Count == 0 || !_armed.Contains(name)) return;
        Console.Error.WriteLine($"fail-point {name} hit");
        Console.Error.Flush();
        using var self = Process.GetCurrentProcess();
        self.Kill();
        // Kill only sends the signal; nothing of this thread may run on while it lands.
        Thread.Sleep(Timeout.Infinite);
    }
}
