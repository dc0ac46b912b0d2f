using ActorRuntime.Events;
using ActorRuntime.Store;
using Microsoft.Data.Sqlite;

namespace ActorRuntime.Tests.Persistence;

/// <summary>
/// What only SQLite shows: the journal's rows as the bus writes them, and where the default database lives. The bus's
/// behaviour across restarts, on SQLite and PostgreSQL, is <see cref="EventBusPersistenceSpec"/>.
/// </summary>
public sealed class SqliteStoreSpec : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ar-persistence-").FullName;

    private PersistenceSettings Settings => new(PersistenceProvider.Sqlite,
        $"Data Source={Path.Combine(_dir, "db", PersistenceSettings.DatabaseFileName)}", _dir);

    [Fact]
    public async Task Journal_rows_carry_the_short_manifest_and_the_runtime_serializer_id()
    {
        await using (var run = PersistentBusHarness.Start(Settings, "rows", snapshotEvery: 2))
        {
            for (var i = 0; i < 3; i++)
                await run.PublishAsync(PersistentBusHarness.Ev(Topics.Exit, $"c{i}", 10, 0));
            // A snapshot is saved after its event is written, unawaited: a bus stopped at once may never finish it.
            await EventuallyAsync(async () => await SnapshotRowAsync() is not null, "the bus's snapshot row", TimeSpan.FromSeconds(10));
        }

        await using var connection = new SqliteConnection(Settings.ConnectionString);
        await connection.OpenAsync();
        var rows = new List<(string Pid, string Manifest, long Identifier)>();
        await using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "SELECT persistence_id, manifest, identifier FROM journal ORDER BY ordering";
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                rows.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
        }
        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.Equal(("event-bus", "event-delivered-v3", (long)RuntimeSerializer.Id), r));

        Assert.Equal(("event-bus-snapshot-v3", (long)RuntimeSerializer.Id), await SnapshotRowAsync());

        await using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "SELECT COUNT(*) FROM tags WHERE tag = 'task-events'";
            Assert.Equal(3L, (long)(await cmd.ExecuteScalarAsync())!);
        }
    }

    private async Task<(string Manifest, long SerializerId)?> SnapshotRowAsync()
    {
        await using var connection = new SqliteConnection(Settings.ConnectionString);
        await connection.OpenAsync();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT manifest, serializer_id FROM snapshot";
        try
        {
            await using var reader = await cmd.ExecuteReaderAsync();
            return await reader.ReadAsync() ? (reader.GetString(0), reader.GetInt64(1)) : null;
        }
        catch (SqliteException)
        {
            return null; // the table is made with the first snapshot
        }
    }

    [Fact]
    public void The_default_database_is_actorruntime_db_under_the_root_dir_which_is_created()
    {
        var root = Path.Combine(_dir, "root", "nested");
        var settings = ActorRuntimePersistence.Resolve(null, new Configuration.ActorRuntimeOptions { RootDirectory = root });
        Assert.Equal(PersistenceProvider.Sqlite, settings.Provider);
        Assert.Equal($"Data Source={Path.Combine(root, "actorruntime.db")}", settings.ConnectionString);
        Assert.False(Directory.Exists(root));
        settings.EnsureStorage();
        Assert.True(Directory.Exists(root));

        var pg = ActorRuntimePersistence.Resolve(
            new PersistenceOptions { Provider = PersistenceProvider.PostgreSql, ConnectionString = "Host=127.0.0.1;Database=x" });
        Assert.Equal(("PostgreSQL.15", "Host=127.0.0.1;Database=x"), (pg.SqlProviderName, pg.ConnectionString));
        Assert.Throws<ArgumentException>(() => ActorRuntimePersistence.Resolve(new PersistenceOptions { Provider = PersistenceProvider.PostgreSql }));
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
        }
    }
}
