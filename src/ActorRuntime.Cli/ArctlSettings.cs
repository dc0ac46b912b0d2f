using System.CommandLine;

namespace ActorRuntime.Cli;

/// <summary>The options every command takes (recursive on the root command), and what they resolve to.</summary>
internal static class GlobalOptions
{
    /// <summary>actorruntimed's default socket (DaemonCommandLine: &lt;state&gt;/actorruntime.sock).</summary>
    public const string DefaultAddress = "/run/actorruntime/actorruntime.sock";

    public const string AddressVariable = "ACTORRUNTIME_ADDRESS";

    public const string DefaultRoot = "/var/lib/actorruntime";

    public const string DefaultState = "/run/actorruntime";

    public static readonly Option<string?> Address = new("--address", "-a")
    {
        Description = $"actorruntimed's socket (default ${AddressVariable}, else {DefaultAddress})",
        Recursive = true,
    };

    public static readonly Option<bool> Embedded = new("--embedded")
    {
        Description = "run the runtime inside arctl on --root (also the fallback when no daemon answers at the default address)",
        Recursive = true,
    };

    public static readonly Option<string?> Namespace = new("--namespace", "-n")
    {
        Description = "namespace (default: default)",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json") { Description = "print JSON for scripts", Recursive = true };

    public static readonly Option<string?> Root = new("--root")
    {
        Description = $"durable data, images and logs (default {DefaultRoot})",
        Recursive = true,
    };

    public static readonly Option<string?> State = new("--state")
    {
        Description = $"FIFOs, bundles and sockets (default {DefaultState})",
        Recursive = true,
    };

    public static IEnumerable<Option> All => [Address, Embedded, Namespace, Json, Root, State];
}

/// <summary>
/// Where and how arctl reaches a runtime. <see cref="AddressGiven"/>: the address came from --address or the
/// environment, so a daemon that does not answer there is an error rather than a reason to run in-process.
/// </summary>
internal sealed record ArctlSettings(
    string Address,
    bool AddressGiven,
    bool Embedded,
    string Namespace,
    bool Json,
    string Root,
    string State)
{
    public const string DefaultNamespace = "default";

    public static ArctlSettings From(ParseResult parse, Func<string, string?> environment)
    {
        var address = parse.GetValue(GlobalOptions.Address);
        var fromEnvironment = environment(GlobalOptions.AddressVariable);
        if (string.IsNullOrEmpty(fromEnvironment)) fromEnvironment = null;
        return new ArctlSettings(
            Address: Path.GetFullPath(address ?? fromEnvironment ?? GlobalOptions.DefaultAddress),
            AddressGiven: address is not null || fromEnvironment is not null,
            Embedded: parse.GetValue(GlobalOptions.Embedded),
            Namespace: parse.GetValue(GlobalOptions.Namespace) ?? DefaultNamespace,
            Json: parse.GetValue(GlobalOptions.Json),
            Root: Path.GetFullPath(parse.GetValue(GlobalOptions.Root) ?? GlobalOptions.DefaultRoot),
            State: Path.GetFullPath(parse.GetValue(GlobalOptions.State) ?? GlobalOptions.DefaultState));
    }

    /// <summary>
    /// Where the client makes its FIFOs, apart from the runtime's bundles (&lt;state&gt;/&lt;namespace&gt;/&lt;id&gt;): the
    /// leading dot is no valid namespace, so the runtime never takes it for one of its namespaces when it reloads.
    /// </summary>
    public string FifoDirectory => Path.Combine(State, ".arctl-fifo");

    /// <summary>Where `run -d` keeps a container's output until `rm`.</summary>
    public string LogPath(string id) => Path.Combine(Root, "arctl", "logs", Namespace, id + ".log");

    /// <summary>The busybox root filesystem `run` uses when given neither --rootfs nor --bundle.</summary>
    public string BusyboxRootfs => Path.Combine(Root, "images", "busybox");
}
