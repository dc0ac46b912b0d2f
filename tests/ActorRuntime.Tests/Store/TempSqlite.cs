using ActorRuntime.Store;
using Microsoft.Data.Sqlite;

namespace ActorRuntime.Tests.Store;

/// <summary>A SQLite database file in its own temp directory, with plain SQL access to the rows; deleted on dispose.</summary>
internal sealed class TempSqlite : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ar-store-").FullName;

    public TempSqlite(string? copyOf = null)
    {
        var file = Path.Combine(_dir, PersistenceSettings.DatabaseFileName);
        if (copyOf is not null) File.Copy(copyOf, file);
        Settings = new PersistenceSettings(PersistenceProvider.Sqlite, $"Data Source={file}", _dir);
    }

    public PersistenceSettings Settings { get; }

    public List<T> Query<T>(string sql, Func<SqliteDataReader, T> read, string? persistenceId = null) =>
        Run(sql, persistenceId, command =>
        {
            using var reader = command.ExecuteReader();
            var rows = new List<T>();
            while (reader.Read()) rows.Add(read(reader));
            return rows;
        });

    public long Scalar(string sql) => Run(sql, null, c => Convert.ToInt64(c.ExecuteScalar()));

    public int Execute(string sql) => Run(sql, null, c => c.ExecuteNonQuery());

    private T Run<T>(string sql, string? persistenceId, Func<SqliteCommand, T> run)
    {
        using var connection = new SqliteConnection(Settings.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (persistenceId is not null) command.Parameters.AddWithValue("$p", persistenceId);
        return run(command);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open; the temp dir is left for the OS to clean.
        }
    }
}
