using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Configuration;

namespace ActorRuntime.Configuration;

/// <summary>Resolved runtime settings, read from HOCON (defaults embedded from hocon/actorruntime.conf).</summary>
public sealed record RuntimeSettings(
    string StateDirectory,
    string RootDirectory,
    string Namespace,
    string ShimBinary,
    string RuncBinary,
    string RuncRoot,
    TimeSpan LoadTimeout,
    TimeSpan CleanupTimeout,
    TimeSpan ShutdownTimeout,
    TimeSpan CallTimeout,
    TimeSpan StateTimeout)
{
    /// <summary>
    /// The gRPC socket (containerd's --address; the shims' -address): actor-runtime.address, or
    /// &lt;state-dir&gt;/actorruntime.sock when that is empty.
    /// </summary>
    public string Address { get; init; } = Path.Combine(StateDirectory, "actorruntime.sock");

    /// <summary>Our events ttrpc socket, the shims' TTRPC_ADDRESS: the address + ".ttrpc", as containerd has it.</summary>
    public string TtrpcAddress => Address + ".ttrpc";

    private static readonly Lazy<Config> Defaults = new(() =>
    {
        using var stream = typeof(RuntimeSettings).Assembly.GetManifestResourceStream("ActorRuntime.actorruntime.conf")
            ?? throw new InvalidOperationException("embedded hocon/actorruntime.conf missing");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    });

    /// <summary>The shipped defaults (hocon/actorruntime.conf).</summary>
    public static Config DefaultConfig => Defaults.Value;

    public static RuntimeSettings Create(Config config)
    {
        var c = config.WithFallback(DefaultConfig);
        var settings = new RuntimeSettings(
            c.GetString("actor-runtime.state-dir"),
            c.GetString("actor-runtime.root-dir"),
            c.GetString("actor-runtime.namespace"),
            c.GetString("actor-runtime.shim-binary"),
            c.GetString("actor-runtime.runc-binary", ""),
            c.GetString("actor-runtime.runc-root", ""),
            c.GetTimeSpan("io.containerd.timeout.shim.load"),
            c.GetTimeSpan("io.containerd.timeout.shim.cleanup"),
            c.GetTimeSpan("io.containerd.timeout.shim.shutdown"),
            c.GetTimeSpan("actor-runtime.call-timeout"),
            c.GetTimeSpan("io.containerd.timeout.task.state"));
        if (c.GetString("actor-runtime.address", "") is { Length: > 0 } address) settings = settings with { Address = address };
        Identifiers.Validate(settings.Namespace, "namespace");
        return settings;
    }

    public static RuntimeSettings Create(ActorRuntimeOptions options) =>
        Create(ConfigurationFactory.ParseString(options.ToHocon()));
}
