using System.Security.Cryptography;
using ActorRuntime.Store;
using Akka.Actor;

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

    private readonly TempSqlite _copy = new(copyOf: Original);

    public PersistenceSettings Settings => _copy.Settings;

    public static string OriginalHash() => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Original)));

    public sealed record Row(string PersistenceId, long SequenceNr, string Manifest, int SerializerId, byte[] Payload, bool Deleted)
    {
        public object Decode(ActorSystem system) => system.Serialization.Deserialize(Payload, SerializerId, Manifest);
    }

    public IReadOnlyList<Row> Journal(string persistenceId) => _copy.Query(
        "SELECT persistence_id, sequence_number, manifest, identifier, message, deleted FROM journal WHERE persistence_id = $p ORDER BY sequence_number",
        r => new Row(r.GetString(0), r.GetInt64(1), r.GetString(2), r.GetInt32(3), (byte[])r[4], r.GetBoolean(5)), persistenceId);

    public IReadOnlyList<Row> Snapshots(string persistenceId) => _copy.Query(
        "SELECT persistence_id, sequence_number, manifest, serializer_id, snapshot FROM snapshot WHERE persistence_id = $p ORDER BY sequence_number",
        r => new Row(r.GetString(0), r.GetInt64(1), r.GetString(2), r.GetInt32(3), (byte[])r[4], false), persistenceId);

    public IReadOnlyList<Row> AllRows() =>
        _copy.Query("SELECT DISTINCT persistence_id FROM journal UNION SELECT persistence_id FROM snapshot", r => r.GetString(0))
            .SelectMany(id => Journal(id).Concat(Snapshots(id)))
            .ToList();


    public void Dispose() => _copy.Dispose();
}
