using System.Security.Cryptography;
using ActorRuntime.Store;
using Akka.Actor;
using Microsoft.Data.Sqlite;

namespace ActorRuntime.Tests.Store;

/// <summary>
/// A private copy of Fixtures/format-v1.db — journal and snapshot rows as the runtime wrote them at commit 19ef6c2, before
/// stored formats were separate contracts. Written once by Fixtures/FormatV1Fixture.cs (its header says how); never
/// regenerate it: its point is that it was written by the old code. <see cref="Sha256"/> pins it.
/// </summary>
internal sealed class FormatV1Database : IDisposable
{
    public const string Sha256 = "4ac1d21d678abb77fb0343e5deca17e8bca0262254430c41639af1b406a60e1f";

    private static readonly string Original = Path.Combine(AppContext.BaseDirectory, "Store", "Fixtures", "format-v1.db");

    private readonly string _dir = Directory.CreateTempSubdirectory("ar-format-v1-").FullName;

    public FormatV1Database()
    {
        var copy = Path.Combine(_dir, PersistenceSettings.DatabaseFileName);
        File.Copy(Original, copy);
        Settings = new PersistenceSettings(PersistenceProvider.Sqlite, $"Data Source={copy}", _dir);
    }

    public PersistenceSettings Settings { get; }

    public static string OriginalHash() => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Original)));

    public sealed record Row(string PersistenceId, long SequenceNr, string Manifest, int SerializerId, byte[] Payload, bool Deleted)
    {
        public object Decode(ActorSystem system) => system.Serialization.Deserialize(Payload, SerializerId, Manifest);
    }

    public IReadOnlyList<Row> Journal(string persistenceId) => Query(
        "SELECT persistence_id, sequence_number, manifest, identifier, message, deleted FROM journal WHERE persistence_id = $p ORDER BY sequence_number",
        persistenceId, r => new Row(r.GetString(0), r.GetInt64(1), r.GetString(2), r.GetInt32(3), (byte[])r[4], r.GetBoolean(5)));

    public IReadOnlyList<Row> Snapshots(string persistenceId) => Query(
        "SELECT persistence_id, sequence_number, manifest, serializer_id, snapshot FROM snapshot WHERE persistence_id = $p ORDER BY sequence_number",
        persistenceId, r => new Row(r.GetString(0), r.GetInt64(1), r.GetString(2), r.GetInt32(3), (byte[])r[4], false));

    public IReadOnlyList<Row> AllRows() =>
        Query("SELECT DISTINCT persistence_id FROM journal UNION SELECT persistence_id FROM snapshot", null, r => r.GetString(0))
            .SelectMany(id => Journal(id).Concat(Snapshots(id)))
            .ToList();

    public long MaxOrdering() => Query("SELECT MAX(ordering) FROM journal", null, r => r.GetInt64(0)).Single();

    private List<T> Query<T>(string sql, string? persistenceId, Func<SqliteDataReader, T> read)
    {
        using var connection = new SqliteConnection(Settings.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (persistenceId is not null) command.Parameters.AddWithValue("$p", persistenceId);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read()) rows.Add(read(reader));
        return rows;
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
