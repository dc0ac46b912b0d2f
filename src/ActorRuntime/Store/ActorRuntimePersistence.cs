using ActorRuntime.Configuration;
using ActorRuntime.Events;
using ActorRuntime.Store.Contracts;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Persistence.Sql;
using Akka.Persistence.Sql.Config;
using LinqToDB;

namespace ActorRuntime.Store;

/// <summary>
/// Builds the Akka.Persistence configuration of the runtime: Akka.Persistence.Sql journal (with the
/// <see cref="TaskEventTagger"/>) and snapshot store for SQLite or PostgreSQL, or Akka's in-memory stores.
/// One Config for Akka.Hosting and plain actor systems alike (<see cref="Hosting.RuntimeTopology.Config"/>).
/// </summary>
public static class ActorRuntimePersistence
{
    public const string TaggerName = "actor-runtime-tagger";

    /// <summary>The plugin ids (their <c>plugin-id</c>) under which Akka.Persistence.Sql looks up data options.</summary>
    public const string JournalPluginId = "akka.persistence.journal.sql";

    public const string SnapshotPluginId = "akka.persistence.snapshot-store.sql";

    public static SqlJournalOptions JournalOptions(PersistenceSettings settings) => new(isDefault: true)
    {
        ConnectionString = settings.ConnectionString,
        ProviderName = settings.SqlProviderName,
        Parallelism = settings.Provider == PersistenceProvider.Sqlite ? 1 : 3,
        AutoInitialize = true,
    };

    public static SqlSnapshotOptions SnapshotOptions(PersistenceSettings settings) => new(isDefault: true)
    {
        ConnectionString = settings.ConnectionString,
        ProviderName = settings.SqlProviderName,
        AutoInitialize = true,
    };

    /// <summary>
    /// The journal's write adapter that tags delivered events (as HOCON: the options' Adapters property is obsolete and
    /// Hosting's builder callback is not available to a plain Config), or Akka's in-memory stores. No read journal: the
    /// bus delivers live events from its own write confirmations and replays through the journal plugin itself.
    /// </summary>
    public static Config JournalAdapterConfig(PersistenceSettings settings)
    {
        if (!settings.IsSql)
        {
            return ConfigurationFactory.ParseString("""
                akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
                akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
                """);
        }
        return ConfigurationFactory.ParseString($"""
            akka.persistence.journal.sql {"{"}
              event-adapters.{TaggerName} = {Hocon.Quote(typeof(TaskEventTagger).AssemblyQualifiedNameWithoutVersion())}
              event-adapter-bindings {"{"}
                {Hocon.Quote(typeof(EventDelivered).AssemblyQualifiedNameWithoutVersion())} = {TaggerName}
                {Hocon.Quote(typeof(Cluster.NodeFenceEvent.ContainerGivenUp).AssemblyQualifiedNameWithoutVersion())} = {TaggerName}
              {"}"}
            {"}"}
            """);
    }

    /// <summary>The persistence part of a runtime's configuration, to be laid over <see cref="Defaults"/>.</summary>
    public static Config Overrides(PersistenceSettings settings)
    {
        var config = JournalAdapterConfig(settings);
        return settings.IsSql
            ? config.WithFallback(JournalOptions(settings).ToConfig()).WithFallback(SnapshotOptions(settings).ToConfig())
                .WithFallback(ReadJournalConfig(settings))
            : config;
    }

    /// <summary>
    /// The read journal over the same database, for the cluster's merged event stream (<see cref="Cluster.ClusterEventFeed"/>);
    /// it needs its own connection settings. Its refresh interval (how often a live reader polls) is the plugin's default
    /// unless hocon or code sets <c>akka.persistence.query.journal.sql.refresh-interval</c>.
    /// </summary>
    private static Config ReadJournalConfig(PersistenceSettings settings) => ConfigurationFactory.ParseString($"""
        akka.persistence.query.journal.sql {"{"}
          connection-string = {Hocon.Quote(settings.ConnectionString)}
          provider-name = {Hocon.Quote(settings.SqlProviderName)}
        {"}"}
        """);

    /// <summary>hocon/actorruntime.conf, the runtime serializer with its bindings, and the SQL plugins' defaults.</summary>
    public static Config Defaults => RuntimeSettings.DefaultConfig
        .WithFallback(Serialization.Value)
        .WithFallback(SqlPersistence.DefaultConfiguration);

    private static readonly Lazy<Config> Serialization = new(() => RuntimeSerializer.Configuration(RuntimeFormats.All));

    /// <summary>The whole persistence configuration as one Config, defaults included as fallback.</summary>
    public static Config ToConfig(PersistenceSettings settings) => Overrides(settings).WithFallback(Defaults);

    /// <summary>
    /// An actor system's setup: <paramref name="config"/> (which must configure persistence as <paramref name="settings"/>
    /// say) and, for SQLite, <see cref="DataOptionsSetup"/>. A system made from the Config alone works the same, only its
    /// SQLite connections run at the compiled-in synchronous level.
    /// </summary>
    public static ActorSystemSetup Setup(PersistenceSettings settings, Config config)
    {
        var bootstrap = BootstrapSetup.Create().WithConfig(config);
        return DataOptionsSetup(settings) is { } data ? bootstrap.And(data) : ActorSystemSetup.Create(bootstrap);
    }

    /// <summary>
    /// For SQLite, the linq2db data options of the journal (writes, and the replays that recover every persistent actor)
    /// and of the snapshot store: the same provider and connection string, plus the <see cref="SqliteSynchronousInterceptor"/>
    /// that sets <see cref="PersistenceSettings.Synchronous"/> on every connection they open. Data options set this way
    /// replace the plugins' connection-string and provider-name. Null for the other providers.
    /// </summary>
    public static MultiDataOptionsSetup? DataOptionsSetup(PersistenceSettings settings)
    {
        if (settings.Provider != PersistenceProvider.Sqlite) return null;
        var setup = new MultiDataOptionsSetup();
        setup.AddDataOptions(JournalPluginId, DataOptions(settings));
        setup.AddDataOptions(SnapshotPluginId, DataOptions(settings));
        return setup;
    }

    private static DataOptions DataOptions(PersistenceSettings settings) => new DataOptions()
        .UseConnectionString(settings.SqlProviderName, settings.ConnectionString)
        .UseInterceptor(new SqliteSynchronousInterceptor(settings.Synchronous));

    /// <summary>Resolves <paramref name="options"/> over the shipped defaults (root dir from <paramref name="runtime"/>).</summary>
    public static PersistenceSettings Resolve(PersistenceOptions? options, ActorRuntimeOptions? runtime = null)
    {
        var hocon = (runtime?.ToHocon() ?? "") + Environment.NewLine + (options?.ToHocon() ?? "");
        return PersistenceSettings.Create(ConfigurationFactory.ParseString(hocon));
    }
}

internal static class TypeNames
{
    public static string AssemblyQualifiedNameWithoutVersion(this Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";
}
