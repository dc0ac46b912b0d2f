using System.Text;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;

namespace ActorRuntime.Configuration;

/// <summary>
/// What a host configures. Every property left null falls back to hocon/actorruntime.conf; set ones win,
/// as with Akka.Hosting's option objects.
/// </summary>
public sealed class ActorRuntimeOptions
{
    public string? StateDirectory { get; set; }
    public string? RootDirectory { get; set; }

    /// <summary>
    /// The daemon's gRPC socket (containerd's --address), handed to shims as -address; our events ttrpc socket (their
    /// TTRPC_ADDRESS) is this path + ".ttrpc", as with containerd. Null: actor-runtime.address (empty there means
    /// &lt;state-dir&gt;/actorruntime.sock).
    /// </summary>
    public string? Address { get; set; }
    /// <summary>The embedded API's namespace (<c>actor-runtime.namespace</c>); the runtime serves every namespace.</summary>
    public string? Namespace { get; set; }
    public string? ShimBinary { get; set; }
    public string? RuncBinary { get; set; }
    public string? RuncRoot { get; set; }
    public TimeSpan? LoadTimeout { get; set; }
    public TimeSpan? CleanupTimeout { get; set; }
    public TimeSpan? ShutdownTimeout { get; set; }
    /// <summary>Deadline of lifecycle calls (Create, Start, Kill, Exec, Delete...).</summary>
    public TimeSpan? CallTimeout { get; set; }

    /// <summary>Deadline of queries (State, Pids, Stats): io.containerd.timeout.task.state.</summary>
    public TimeSpan? StateTimeout { get; set; }

    /// <summary>
    /// How long the event bus remembers a finished run, once its process record is forgotten, to drop late copies of its
    /// exit and delete (actor-runtime.event-bus.retain-finished-runs-for; pruned at least this often). Exactly-once does
    /// not depend on it: the bus keeps every run until its record is forgotten, and the records say whether an exit was
    /// published. Crash and soak tests shorten it so restarts outlive it.
    /// </summary>
    public TimeSpan? EventRetention { get; set; }

    /// <summary>Crash points to arm (<see cref="Diagnostics.FailPoint"/> names): crash tests only.</summary>
    public IReadOnlyList<string>? FailPoints { get; set; }

    /// <summary>Journal/snapshot store (SQLite under the root dir by default; PostgreSQL by provider + connection string).</summary>
    public Store.PersistenceOptions? Persistence { get; set; }

    /// <summary>Replaces the shim binary launcher (fault-injection fakes); not a HOCON setting.</summary>
    public Func<Shims.ShimLaunchSettings, Shims.IShimLauncher>? ShimLauncher { get; set; }

    /// <summary>Renders only the properties that were set, to be prepended over the defaults.</summary>
    public string ToHocon()
    {
        var sb = new StringBuilder();
        void Str(string key, string? value)
        {
            if (value is not null) sb.AppendLine($"{key} = {Hocon.Quote(value)}");
        }
        void Time(string key, TimeSpan? value)
        {
            if (value is { } v) sb.AppendLine($"{key} = {(long)v.TotalMilliseconds}ms");
        }
        Str("actor-runtime.state-dir", StateDirectory);
        Str("actor-runtime.root-dir", RootDirectory);
        Str("actor-runtime.address", Address);
        Str("actor-runtime.namespace", Namespace);
        Str("actor-runtime.shim-binary", ShimBinary);
        Str("actor-runtime.runc-binary", RuncBinary);
        Str("actor-runtime.runc-root", RuncRoot);
        Time("io.containerd.timeout.shim.load", LoadTimeout);
        Time("io.containerd.timeout.shim.cleanup", CleanupTimeout);
        Time("io.containerd.timeout.shim.shutdown", ShutdownTimeout);
        Time("actor-runtime.call-timeout", CallTimeout);
        Time("io.containerd.timeout.task.state", StateTimeout);
        Time("actor-runtime.event-bus.retain-finished-runs-for", EventRetention);
        if (EventRetention is { } retention && retention < TimeSpan.FromSeconds(30))
            Time("actor-runtime.event-bus.prune-interval", retention);
        if (FailPoints is { } armed)
            sb.AppendLine($"actor-runtime.fail-points.armed = [{string.Join(", ", armed.Select(Hocon.Quote))}]");
        if (Persistence is { } persistence) sb.Append(persistence.ToHocon());
        return sb.ToString();
    }
}
