using ActorRuntime.Configuration;
using Akka.Configuration;

namespace ActorRuntime.Store;

/// <summary>
/// Resolved persistence settings: provider, the linq2db provider name and the connection string (the SQLite default
/// <c>Data Source=&lt;root-dir&gt;/actorruntime.db</c> filled in, its directory created by <see cref="EnsureStorage"/>) and, for
/// SQLite, the <see cref="SqliteSynchronous"/> level its connections run at.
/// </summary>
public sealed record PersistenceSettings(PersistenceProvider Provider, string ConnectionString, string RootDirectory,
    SqliteSynchronous Synchronous = SqliteSynchronous.Normal)
{
    public const string SynchronousSetting = "actor-runtime.persistence.sqlite-synchronous";

    public const string DatabaseFileName = "actorruntime.db";

    /// <summary>linq2db provider name for Akka.Persistence.Sql's <c>provider-name</c>.</summary>
    public string SqlProviderName => Provider switch
    {
        PersistenceProvider.Sqlite => "SQLite.MS",
        PersistenceProvider.PostgreSql => "PostgreSQL.15",
        _ => throw new InvalidOperationException($"{Provider} is not a SQL provider"),
    };

    public bool IsSql => Provider != PersistenceProvider.InMemory;

    public static PersistenceSettings Create(Config config)
    {
        var c = config.WithFallback(RuntimeSettings.DefaultConfig);
        var root = c.GetString("actor-runtime.root-dir");
        var provider = ParseProvider(c.GetString("actor-runtime.persistence.provider", "sqlite"), "actor-runtime.persistence.provider");
        var cs = c.GetString("actor-runtime.persistence.connection-string", "") ?? "";
        if (cs.Length == 0)
        {
            cs = provider switch
            {
                PersistenceProvider.Sqlite => $"Data Source={Path.Combine(root, DatabaseFileName)}",
                PersistenceProvider.PostgreSql => throw new ArgumentException(
                    "actor-runtime.persistence: provider postgresql needs a connection-string"),
                _ => "",
            };
        }
        var synchronous = ParseSynchronous(c.GetString(SynchronousSetting, "normal"), SynchronousSetting);
        return new PersistenceSettings(provider, cs, root, synchronous);
    }

    public static PersistenceSettings Create(ActorRuntimeOptions options) =>
        Create(ConfigurationFactory.ParseString(options.ToHocon()));

    internal static string ProviderName(PersistenceProvider p) => p switch
    {
        PersistenceProvider.Sqlite => "sqlite",
        PersistenceProvider.PostgreSql => "postgresql",
        PersistenceProvider.InMemory => "inmem",
        _ => throw new ArgumentOutOfRangeException(nameof(p)),
    };

    /// <summary>
    /// The one reading of a provider name, for HOCON and command lines alike; <paramref name="source"/> (the setting or
    /// option it came from) and the value itself are named when it is not one.
    /// </summary>
    public static PersistenceProvider ParseProvider(string text, string source) => text.Trim().ToLowerInvariant() switch
    {
        "sqlite" => PersistenceProvider.Sqlite,
        "postgresql" or "postgres" or "pg" => PersistenceProvider.PostgreSql,
        "inmem" or "in-memory" or "inmemory" => PersistenceProvider.InMemory,
        _ => throw new ArgumentException($"{source}: unknown provider \"{text}\" (sqlite, postgresql or inmem)"),
    };

    internal static string SynchronousName(SqliteSynchronous s) => s switch
    {
        SqliteSynchronous.Normal => "normal",
        SqliteSynchronous.Full => "full",
        _ => throw new ArgumentOutOfRangeException(nameof(s)),
    };

    /// <summary>The one reading of a SQLite synchronous level; <paramref name="source"/> and the value are named when it is not one.</summary>
    public static SqliteSynchronous ParseSynchronous(string text, string source) => text.Trim().ToLowerInvariant() switch
    {
        "normal" => SqliteSynchronous.Normal,
        "full" => SqliteSynchronous.Full,
        _ => throw new ArgumentException($"{source}: unknown SQLite synchronous level \"{text}\" (normal or full)"),
    };

    /// <summary>Creates the SQLite file's directory (the root dir, or the directory the connection string names).</summary>
    public void EnsureStorage()
    {
        if (Provider != PersistenceProvider.Sqlite) return;
        var builder = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(ConnectionString);
        var file = builder.DataSource;
        if (string.IsNullOrEmpty(file) || file == ":memory:" || file.StartsWith("file:", StringComparison.Ordinal)) return;
        var dir = Path.GetDirectoryName(Path.GetFullPath(file));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        // Write-ahead log: a commit is one append to the log (synced or not, see SqliteSynchronous) instead of a rollback
        // journal's several writes and syncs, and readers never wait for the writer. The mode is stored in the file, so
        // setting it once is enough; the synchronous level is per connection (SqliteSynchronousInterceptor).
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection(ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
    }
}
