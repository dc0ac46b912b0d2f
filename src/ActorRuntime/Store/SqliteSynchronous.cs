using System.Data.Common;
using LinqToDB.Interceptors;

namespace ActorRuntime.Store;

/// <summary>
/// SQLite's <c>PRAGMA synchronous</c> for the runtime's database (always in WAL mode, see
/// <see cref="PersistenceSettings.EnsureStorage"/>). <c>actor-runtime.persistence.sqlite-synchronous</c> in
/// hocon/actorruntime.conf or <see cref="PersistenceOptions.SqliteSynchronous"/>.
/// </summary>
public enum SqliteSynchronous
{
    /// <summary>
    /// The default. In WAL mode a commit is durable once it is in the log, which the OS holds even when the process is
    /// killed; the log is synced at checkpoints only, so an OS crash or power loss may roll back the last commits.
    /// </summary>
    Normal,

    /// <summary>Every commit also syncs the log: survives power loss too, at one fsync per write.</summary>
    Full,
}

/// <summary>
/// Sets <c>PRAGMA synchronous</c> on each connection the SQL journal and snapshot store open (the level is per
/// connection and not kept in the file, and Microsoft.Data.Sqlite's connection string has no keyword for it). Registered
/// through the data options of <see cref="ActorRuntimePersistence.Setup"/>.
/// </summary>
public sealed class SqliteSynchronousInterceptor(SqliteSynchronous level) : ConnectionInterceptor
{
    private long _opened;

    public SqliteSynchronous Level { get; } = level;

    /// <summary>Connections this interceptor has set the level on, so a spec can see the plugin's connections got it.</summary>
    public long Opened => Interlocked.Read(ref _opened);

    private string Pragma => $"PRAGMA synchronous={PersistenceSettings.SynchronousName(Level)};";

    public override void ConnectionOpened(ConnectionEventData eventData, DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragma;
        command.ExecuteNonQuery();
        Interlocked.Increment(ref _opened);
    }

    public override async Task ConnectionOpenedAsync(ConnectionEventData eventData, DbConnection connection,
        CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = Pragma;
        await command.ExecuteNonQueryAsync(cancellationToken);
        Interlocked.Increment(ref _opened);
    }
}
