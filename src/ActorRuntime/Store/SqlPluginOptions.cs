using System.Text;
using ActorRuntime.Configuration;
using Akka.Configuration;
using Akka.Persistence.Hosting;
using Akka.Persistence.Sql;

namespace ActorRuntime.Store;

/// <summary>
/// <c>akka.persistence.journal.sql</c> for Akka.Persistence.Hosting's WithJournal (Akka.Persistence.Sql.Hosting is not
/// available on our mirror, so this is the ~15-line subclass described in shared/docs/akka-stack.md §2.5).
/// </summary>
public sealed class SqlJournalOptions(bool isDefault = true) : JournalOptions(isDefault)
{
    public override string Identifier { get; set; } = "sql";

    public required string ConnectionString { get; init; }

    public required string ProviderName { get; init; }

    /// <summary>Concurrent write batches; SQLite wants 1 (single writer).</summary>
    public int Parallelism { get; init; } = 3;

    protected override Config InternalDefaultConfig => SqlPersistence.DefaultJournalConfiguration;

    protected override StringBuilder Build(StringBuilder sb)
    {
        sb.AppendLine($"connection-string = {Hocon.Quote(ConnectionString)}");
        sb.AppendLine($"provider-name = {Hocon.Quote(ProviderName)}");
        sb.AppendLine($"parallelism = {Parallelism}");
        return base.Build(sb);
    }
}

/// <summary><c>akka.persistence.snapshot-store.sql</c> for Akka.Persistence.Hosting's WithSnapshot.</summary>
public sealed class SqlSnapshotOptions(bool isDefault = true) : SnapshotOptions(isDefault)
{
    public override string Identifier { get; set; } = "sql";

    public required string ConnectionString { get; init; }

    public required string ProviderName { get; init; }

    protected override Config InternalDefaultConfig => SqlPersistence.DefaultSnapshotConfiguration;

    protected override StringBuilder Build(StringBuilder sb)
    {
        sb.AppendLine($"connection-string = {Hocon.Quote(ConnectionString)}");
        sb.AppendLine($"provider-name = {Hocon.Quote(ProviderName)}");
        return base.Build(sb);
    }
}
