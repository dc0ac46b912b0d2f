using ActorRuntime.Configuration;

namespace ActorRuntime.Host;

/// <summary>
/// Command line of actorruntime-host. Every directory option maps onto <see cref="ActorRuntimeOptions"/>; the
/// <c>--db-*</c> options are reserved for the EventBus journal (see <see cref="PersistenceSeam"/>).
/// </summary>
internal sealed record HostCommandLine
{
    public string? Root { get; init; }
    public string? StateDir { get; init; }
    public string? Namespace { get; init; }
    public string? RuncRoot { get; init; }
    public string? DbProvider { get; init; }
    public string? DbConnection { get; init; }
    public TimeSpan? LoadTimeout { get; init; }
    public TimeSpan? CleanupTimeout { get; init; }
    public TimeSpan? EventRetention { get; init; }
    public bool StreamEvents { get; init; } = true;
    public string LogLevel { get; init; } = "Warning";

    /// <summary>Crash points to arm (--fail-point, repeatable, and $ACTORRUNTIME_FAIL_POINTS, comma-separated).</summary>
    public IReadOnlyList<string> FailPoints { get; init; } = [];

    public const string FailPointsVariable = "ACTORRUNTIME_FAIL_POINTS";

    public const string Usage =
        """
        usage: actorruntime-host [--root DIR] [--state-dir DIR] [--namespace NS] [--runc-root DIR]
                                 [--db-provider NAME --db-connection STRING] [--load-timeout MS] [--cleanup-timeout MS]
                                 [--event-retention MS]
                                 [--no-stream-events] [--log-level Trace|Debug|Information|Warning|Error]
                                 [--fail-point NAME]...  (also $ACTORRUNTIME_FAIL_POINTS=NAME,NAME)
        Speaks one JSON object per line on stdin/stdout; logs go to stderr. See tools/ActorRuntime.Host/README.md.
        """;

    public static HostCommandLine Parse(IReadOnlyList<string> args, string? failPointsVariable = null)
    {
        var o = new HostCommandLine
        {
            FailPoints = (failPointsVariable ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        };
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--root" => o with { Root = Value() },
                "--state-dir" => o with { StateDir = Value() },
                "--namespace" or "-n" => o with { Namespace = Value() },
                "--runc-root" => o with { RuncRoot = Value() },
                "--db-provider" => o with { DbProvider = Value() },
                "--db-connection" => o with { DbConnection = Value() },
                "--load-timeout" => o with { LoadTimeout = TimeSpan.FromMilliseconds(int.Parse(Value())) },
                "--cleanup-timeout" => o with { CleanupTimeout = TimeSpan.FromMilliseconds(int.Parse(Value())) },
                "--event-retention" => o with { EventRetention = TimeSpan.FromMilliseconds(int.Parse(Value())) },
                "--no-stream-events" => o with { StreamEvents = false },
                "--log-level" => o with { LogLevel = Value() },
                "--fail-point" => o with { FailPoints = [.. o.FailPoints, Value()] },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }
        if ((o.DbProvider is null) != (o.DbConnection is null))
            throw new ArgumentException("--db-provider and --db-connection go together");
        return o;
    }

    public ActorRuntimeOptions ToRuntimeOptions() => new()
    {
        RootDirectory = Root,
        StateDirectory = StateDir,
        Namespace = Namespace,
        RuncRoot = RuncRoot,
        LoadTimeout = LoadTimeout,
        CleanupTimeout = CleanupTimeout,
        EventRetention = EventRetention,
        FailPoints = FailPoints.Count > 0 ? FailPoints : null,
    };
}
