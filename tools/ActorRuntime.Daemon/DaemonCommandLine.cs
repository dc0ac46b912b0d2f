using System.Globalization;
using ActorRuntime.Cluster;
using ActorRuntime.Configuration;

namespace ActorRuntime.Daemon;

/// <summary>actorruntimed's flags, containerd's names: each one set wins over the --config file and the defaults.</summary>
internal sealed record DaemonCommandLine
{
    public string? Address { get; init; }
    public string? Root { get; init; }
    public string? State { get; init; }
    public string? ConfigFile { get; init; }

    /// <summary>--group: the socket is then group read-write for this gid (0660); without it owner-only (0600).</summary>
    public int? Group { get; init; }

    public string LogLevel { get; init; } = "Information";

    /// <summary>--cluster-seed, repeatable: any given turns cluster mode on.</summary>
    public IReadOnlyList<string> ClusterSeeds { get; init; } = [];

    public string? NodeName { get; init; }
    public string? ClusterHost { get; init; }
    public int? ClusterPort { get; init; }

    public const string Usage =
        """
        usage: actorruntimed [--address SOCKET] [--root DIR] [--state DIR] [--config FILE] [--group GID]
                             [--log-level Trace|Debug|Information|Warning|Error]
                             [--cluster-seed HOST:PORT]... [--node-name NAME] [--cluster-host HOST] [--cluster-port PORT]
          -a, --address   gRPC socket (default <state>/actorruntime.sock); the shims' events socket is SOCKET.ttrpc
          --root          persistent data (database, server UUID, lock file)
          --state         runtime state (bundles)
          -c, --config    HOCON file laid over the shipped defaults (hocon/actorruntime.conf); the flags win over it
          --group         numeric gid given read-write access to the socket
          --cluster-seed  a seed node (host:port or akka.tcp://actorruntimed@host:port), repeatable: cluster mode, which
                          needs actor-runtime.persistence.provider = postgresql (in --config)
          --node-name     this node's stable name (default: the host name)
          --cluster-host  address other nodes reach this one at (default 127.0.0.1)
          --cluster-port  Akka.Remote TCP port (default 4053)
        Runs in the foreground, logs to stderr, stops on SIGTERM or SIGINT (running containers and their shims stay).
        """;

    /// <summary>Throws ArgumentException naming the bad flag.</summary>
    public static DaemonCommandLine Parse(IReadOnlyList<string> args)
    {
        var o = new DaemonCommandLine();
        for (var i = 0; i < args.Count; i++)
        {
            var flag = args[i];
            // containerd (urfave/cli) also takes --flag=value.
            string? inline = null;
            if (flag.StartsWith("--", StringComparison.Ordinal) && flag.IndexOf('=') is var eq and > 0)
            {
                inline = flag[(eq + 1)..];
                flag = flag[..eq];
            }
            string Value()
            {
                var value = inline ?? (i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{flag} needs a value"));
                return value.Length > 0 ? value : throw new ArgumentException($"{flag} must not be empty");
            }
            o = flag switch
            {
                "--address" or "-a" => o with { Address = Path.GetFullPath(Value()) },
                "--root" => o with { Root = Path.GetFullPath(Value()) },
                "--state" => o with { State = Path.GetFullPath(Value()) },
                "--config" or "-c" => o with { ConfigFile = Path.GetFullPath(Value()) },
                "--group" => o with { Group = ParseGid(Value()) },
                "--log-level" or "-l" => o with { LogLevel = ParseLogLevel(Value()) },
                "--cluster-seed" => o with { ClusterSeeds = [..o.ClusterSeeds, Value()] },
                "--node-name" => o with { NodeName = Value() },
                "--cluster-host" => o with { ClusterHost = Value() },
                "--cluster-port" => o with { ClusterPort = ParsePort(Value()) },
                _ => throw new ArgumentException($"unknown flag {args[i]}"),
            };
        }
        if (o.ConfigFile is { } file && !File.Exists(file)) throw new ArgumentException($"--config {file}: no such file");
        return o;
    }

    /// <summary>The flags that were given, as options laid over the config file (code-set options win).</summary>
    public ActorRuntimeOptions ToRuntimeOptions() => new()
    {
        Address = Address,
        RootDirectory = Root,
        StateDirectory = State,
    };

    /// <summary>The cluster flags that were given, as options laid over the config file (code-set options win).</summary>
    public ClusterRuntimeOptions ToClusterOptions() => new()
    {
        SeedNodes = ClusterSeeds.Count > 0 ? ClusterSeeds : null,
        NodeName = NodeName,
        Host = ClusterHost,
        Port = ClusterPort,
    };

    private static int ParsePort(string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535
            ? port
            : throw new ArgumentException($"--cluster-port {value}: not a TCP port (0-65535)");

    private static int ParseGid(string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var gid)
            ? gid
            : throw new ArgumentException($"--group {value}: not a numeric gid");

    private static string ParseLogLevel(string value) =>
        Enum.TryParse<Microsoft.Extensions.Logging.LogLevel>(value, ignoreCase: true, out var level) && Enum.IsDefined(level)
            ? level.ToString()
            : throw new ArgumentException($"--log-level {value}: not one of Trace, Debug, Information, Warning, Error");
}
