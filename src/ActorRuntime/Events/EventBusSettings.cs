using ActorRuntime.Configuration;
using Akka.Configuration;

namespace ActorRuntime.Events;

/// <summary>EventBus tuning; defaults match <c>actor-runtime.event-bus</c> in hocon/actorruntime.conf.</summary>
public sealed record EventBusSettings
{
    public static readonly EventBusSettings Default = new();

    /// <summary>Un-acked events an actor subscriber may have at once (N); the rest stay queued in its pump.</summary>
    public int MaxInFlightPerSubscriber { get; init; } = 64;

    /// <summary>A subscriber queue longer than this cancels the subscription (the subscriber is told); 0 = unbounded.</summary>
    public int MaxQueuedPerSubscriber { get; init; } = 65_536;

    /// <summary>A backend callback running longer is abandoned and counted as failed; null = wait forever.</summary>
    public TimeSpan? BackendCallbackTimeout { get; init; }

    /// <summary>How finished runs are forgotten (see <see cref="RunRetention"/> for the trade-off).</summary>
    public RunRetention Retention { get; init; } = RunRetention.Default;

    public TimeSpan PruneInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Persistence id of the bus.</summary>
    public string PersistenceId { get; init; } = "event-bus";

    /// <summary>A snapshot after this many journaled decisions; 0 = never.</summary>
    public int SnapshotEvery { get; init; } = 500;

    /// <summary>Journal entries read per page while a SubscribeFrom replays; also how far replay may run ahead of the subscriber.</summary>
    public int ReplayPageSize { get; init; } = 256;

    /// <summary>
    /// actorruntimed: an Events/Subscribe stream opened this long after the daemon began serving first receives what the
    /// bus published since it started (the exits found while reloading), then live events. Zero: live events only.
    /// </summary>
    public TimeSpan StartupReplayWindow { get; init; } = TimeSpan.FromSeconds(10);

    public static EventBusSettings Create(Config config)
    {
        var c = config.WithFallback(RuntimeSettings.DefaultConfig).GetConfig("actor-runtime.event-bus");
        var timeout = c.GetTimeSpan("backend-callback-timeout", TimeSpan.Zero);
        return new EventBusSettings
        {
            MaxInFlightPerSubscriber = c.GetInt("max-in-flight-per-subscriber", 64),
            MaxQueuedPerSubscriber = c.GetInt("max-queued-per-subscriber", 65_536),
            BackendCallbackTimeout = timeout > TimeSpan.Zero ? timeout : null,
            Retention = new RunRetention(
                c.GetTimeSpan("retain-finished-runs-for", TimeSpan.FromMinutes(10)),
                c.GetInt("max-tracked-runs", 100_000),
                HoldUnreleasedFor: c.GetTimeSpan("hold-unreleased-runs-for", TimeSpan.FromDays(7))),
            PruneInterval = c.GetTimeSpan("prune-interval", TimeSpan.FromSeconds(30)),
            PersistenceId = c.GetString("persistence-id", "event-bus"),
            SnapshotEvery = c.GetInt("snapshot-every", 500),
            ReplayPageSize = Math.Max(1, c.GetInt("replay-page-size", 256)),
            StartupReplayWindow = c.GetTimeSpan("startup-replay-window", TimeSpan.FromSeconds(10)),
        };
    }
}
