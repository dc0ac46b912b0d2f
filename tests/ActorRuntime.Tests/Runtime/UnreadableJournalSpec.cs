using ActorRuntime.Configuration;
using ActorRuntime.Hosting;
using ActorRuntime.Store;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Runtime;

/// <summary>
/// A runtime whose event bus cannot recover (its journal holds a row this version cannot read, as a newer version would
/// write) is not reported loaded: every delete would fail once the bus did not confirm its events. Once the bus can
/// read its journal again, its back-off supervisor starts it, and loading completes.
/// </summary>
public sealed class UnreadableJournalSpec(ITestOutputHelper output) : RuntimeSpecBase(output, o =>
{
    o.RootDirectory = Path.Combine(o.StateDirectory!, "db");
    o.Persistence = new PersistenceOptions { Provider = PersistenceProvider.Sqlite };
    // The bus's recovery is asked about under the load timeout: keep each unanswered question short.
    o.LoadTimeout = TimeSpan.FromSeconds(1);
})
{
    [Fact]
    public async Task A_runtime_whose_event_bus_cannot_read_its_journal_is_loaded_only_once_it_can()
    {
        await RunAsync("c1");
        await StopRuntimeAsync();
        var lastBusRow = $"(SELECT MAX(sequence_number) FROM journal WHERE persistence_id = '{BusId}')";
        var manifest = Sql<string>($"SELECT manifest FROM journal WHERE persistence_id = '{BusId}' AND sequence_number = {lastBusRow}");
        Sql<long>($"UPDATE journal SET manifest = 'from-a-newer-version-v9' WHERE persistence_id = '{BusId}' AND sequence_number = {lastBusRow}");

        // Not through StartRuntimeAsync: its subscription would need the bus.
        var runtime = RuntimeTopology.Start(Sys, Options, prefix: "unreadable-");
        var loaded = runtime.AwaitLoadedAsync();
        await Assert.ThrowsAsync<TimeoutException>(() => loaded.WaitAsync(TimeSpan.FromSeconds(3)));

        Sql<long>($"UPDATE journal SET manifest = '{manifest}' WHERE persistence_id = '{BusId}' AND sequence_number = {lastBusRow}");
        var done = await loaded.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(1, done.Reloaded);
        await runtime.StopAsync(Bound);
    }

    private T Sql<T>(string sql)
    {
        using var connection = new SqliteConnection(PersistenceSettings.Create(Options).ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        var result = command.ExecuteScalar();
        return result is null or DBNull ? default! : (T)Convert.ChangeType(result, typeof(T));
    }
}
