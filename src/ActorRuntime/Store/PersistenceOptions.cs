using System.Text;
using ActorRuntime.Configuration;

namespace ActorRuntime.Store;

/// <summary>Where the runtime keeps its journal and snapshots.</summary>
public enum PersistenceProvider
{
    /// <summary>A SQLite file, by default <c>&lt;root-dir&gt;/actorruntime.db</c> (the default provider).</summary>
    Sqlite,

    /// <summary>PostgreSQL; needs a connection string (Npgsql syntax).</summary>
    PostgreSql,

    /// <summary>Akka's in-memory journal and snapshot store: nothing survives a restart (SubscribeFrom replays only this
    /// process's events). For tests that do not care about durability.</summary>
    InMemory,
}

/// <summary>
/// Persistence settings a host sets in code (<c>ActorRuntimeOptions.Persistence</c>). Left null, a property falls back to
/// <c>actor-runtime.persistence</c> in hocon/actorruntime.conf (provider = sqlite, connection-string = "" meaning
/// <c>Data Source=&lt;root-dir&gt;/actorruntime.db</c>, sqlite-synchronous = normal).
/// </summary>
public sealed class PersistenceOptions
{
    public PersistenceProvider? Provider { get; set; }

    /// <summary>Microsoft.Data.Sqlite or Npgsql connection string; empty/null = the provider's default (SQLite file under root-dir).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>SQLite's <c>PRAGMA synchronous</c> on the journal's and snapshot store's connections; null = hocon (normal).</summary>
    public SqliteSynchronous? SqliteSynchronous { get; set; }

    /// <summary>Renders only the properties that were set, to be prepended over the defaults.</summary>
    public string ToHocon()
    {
        var sb = new StringBuilder();
        if (Provider is { } p)
            sb.AppendLine($"actor-runtime.persistence.provider = {PersistenceSettings.ProviderName(p)}");
        if (ConnectionString is not null)
            sb.AppendLine($"actor-runtime.persistence.connection-string = {Hocon.Quote(ConnectionString)}");
        if (SqliteSynchronous is { } level)
            sb.AppendLine($"{PersistenceSettings.SynchronousSetting} = {PersistenceSettings.SynchronousName(level)}");
        return sb.ToString();
    }
}
