using ActorRuntime.Configuration;
using ActorRuntime.Events;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Persistence.Hosting;
using Akka.Persistence.Sql;

namespace ActorRuntime.Persistence;

/// <summary>
/// Builds the Akka.Persistence configuration of the runtime: Akka.Persistence.Sql journal (with the
/// <see cref="TaskEventTagger"/>), snapshot store and read journal for SQLite or PostgreSQL, or Akka's in-memory stores.
/// The same options drive Akka.Hosting (<see cref="WithActorRuntimePersistence"/>) and a plain Config (<see cref="ToConfig"/>,
/// for TestKit systems).
/// </summary>
public static class ActorRuntimePersistence
{
    public const string ReadJournalId = "akka.persistence.query.journal.sql";
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
    /// Read journal (its own connection settings), the journal's write adapter that tags delivered events (as HOCON: the
    /// options' Adapters property is obsolete and Hosting's builder callback is not available to a plain Config) and the
    /// bus's switch to journal-ordered offsets.
    /// </summary>
    public static Config QueryConfig(PersistenceSettings settings)
    {
        if (!settings.IsSql)
        {
            return ConfigurationFactory.ParseString("""
                akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
                akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
                actor-runtime.event-bus.read-journal = ""
                """);
        }
        return ConfigurationFactory.ParseString($"""
            {ReadJournalId} {"{"}
              connection-string = {Hocon.Quote(settings.ConnectionString)}
              provider-name = {Hocon.Quote(settings.SqlProviderName)}
              refresh-interval = 100ms
              # Live queries only see orderings the sequence actor has confirmed gap-free; it polls this often (default 1 s).
              journal-sequence-retrieval.query-delay = 100ms
            {"}"}
            akka.persistence.journal.sql {"{"}
              event-adapters.{TaggerName} = {Hocon.Quote(typeof(TaskEventTagger).AssemblyQualifiedNameWithoutVersion())}
              event-adapter-bindings {"{"}
                {Hocon.Quote(typeof(EventDelivered).AssemblyQualifiedNameWithoutVersion())} = {TaggerName}
              {"}"}
            {"}"}
            actor-runtime.event-bus.read-journal = {Hocon.Quote(ReadJournalId)}
            """);
    }

    /// <summary>The whole persistence configuration as one Config (no Akka.Hosting), plugin defaults included as fallback.</summary>
    public static Config ToConfig(PersistenceSettings settings)
    {
        var config = QueryConfig(settings);
        if (settings.IsSql)
        {
            config = config
                .WithFallback(JournalOptions(settings).ToConfig())
                .WithFallback(SnapshotOptions(settings).ToConfig())
                .WithFallback(SqlPersistence.DefaultConfiguration);
        }
        return config.WithFallback(RuntimeSettings.DefaultConfig);
    }

    /// <summary>Resolves <paramref name="options"/> over the shipped defaults (root dir from <paramref name="runtime"/>).</summary>
    public static PersistenceSettings Resolve(PersistenceOptions? options, ActorRuntimeOptions? runtime = null)
    {
        var hocon = (runtime?.ToHocon() ?? "") + Environment.NewLine + (options?.ToHocon() ?? "");
        return PersistenceSettings.Create(ConfigurationFactory.ParseString(hocon));
    }

    /// <summary>
    /// Akka.Hosting: journal + snapshot store + read journal for the runtime. PostgreSQL is chosen by configuration only
    /// (<see cref="PersistenceOptions.Provider"/> + connection string). <c>WithActorRuntime</c> calls this itself.
    /// </summary>
    public static AkkaConfigurationBuilder WithActorRuntimePersistence(this AkkaConfigurationBuilder builder, PersistenceSettings settings)
    {
        settings.EnsureStorage();
        builder.AddHocon(QueryConfig(settings), HoconAddMode.Prepend);
        if (!settings.IsSql) return builder;
        builder.WithJournalAndSnapshot(JournalOptions(settings), SnapshotOptions(settings));
        return builder.AddHocon(SqlPersistence.DefaultConfiguration, HoconAddMode.Append);
    }

    public static AkkaConfigurationBuilder WithActorRuntimePersistence(this AkkaConfigurationBuilder builder, PersistenceOptions options) =>
        builder.WithActorRuntimePersistence(Resolve(options));
}

internal static class TypeNames
{
    public static string AssemblyQualifiedNameWithoutVersion(this Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";
}
