using ActorRuntime.Configuration;
using ActorRuntime.Events;
using ActorRuntime.Store.Contracts;
using Akka.Configuration;
using Akka.Persistence.Sql;

namespace ActorRuntime.Store;

/// <summary>
/// Builds the Akka.Persistence configuration of the runtime: Akka.Persistence.Sql journal (with the
/// <see cref="TaskEventTagger"/>) and snapshot store for SQLite or PostgreSQL, or Akka's in-memory stores.
/// One Config for Akka.Hosting and plain actor systems alike (<see cref="Hosting.RuntimeTopology.Config"/>).
/// </summary>
public static class ActorRuntimePersistence
{
    public const string TaggerName = "actor-runtime-tagger";

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
            : config;
    }

    /// <summary>hocon/actorruntime.conf, the runtime serializer with its bindings, and the SQL plugins' defaults.</summary>
    public static Config Defaults => RuntimeSettings.DefaultConfig
        .WithFallback(Serialization.Value)
        .WithFallback(SqlPersistence.DefaultConfiguration);

    private static readonly Lazy<Config> Serialization = new(() => RuntimeSerializer.Configuration(RuntimeFormats.All));

    /// <summary>The whole persistence configuration as one Config, defaults included as fallback.</summary>
    public static Config ToConfig(PersistenceSettings settings) => Overrides(settings).WithFallback(Defaults);

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
