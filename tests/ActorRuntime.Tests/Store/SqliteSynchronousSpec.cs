using ActorRuntime.Configuration;
using ActorRuntime.Hosting;
using ActorRuntime.Store;
using ActorRuntime.Tests.Runtime;
using Akka.Persistence.Sql.Config;
using LinqToDB;
using LinqToDB.Data;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Store;

/// <summary>
/// The runtime on SQLite, started from <see cref="RuntimeTopology.Setup"/>: the journal's and snapshot store's
/// connections run at <c>PRAGMA synchronous=NORMAL</c> (1; the bundled e_sqlite3's compiled-in default is FULL, 2),
/// through the data options the setup registers under the plugin ids the running system's plugins look up.
/// </summary>
public sealed class SqliteSynchronousSpec(ITestOutputHelper output) : RuntimeSpecBase(output, o =>
{
    o.RootDirectory = Path.Combine(o.StateDirectory!, "db");
    o.Persistence = new PersistenceOptions { Provider = PersistenceProvider.Sqlite };
})
{
    [Fact]
    public void The_setup_registers_data_options_under_the_plugin_ids_of_the_running_journal_and_snapshot_store()
    {
        var config = Sys.Settings.Config;
        Assert.Equal(ActorRuntimePersistence.JournalPluginId, config.GetString("akka.persistence.journal.plugin"));
        Assert.Equal(ActorRuntimePersistence.JournalPluginId, config.GetString(ActorRuntimePersistence.JournalPluginId + ".plugin-id"));
        Assert.Equal(ActorRuntimePersistence.SnapshotPluginId, config.GetString("akka.persistence.snapshot-store.plugin"));
        Assert.Equal(ActorRuntimePersistence.SnapshotPluginId, config.GetString(ActorRuntimePersistence.SnapshotPluginId + ".plugin-id"));

        foreach (var pluginId in new[] { ActorRuntimePersistence.JournalPluginId, ActorRuntimePersistence.SnapshotPluginId })
        {
            using var db = new DataConnection(DataOptionsOf(pluginId));
            Assert.Equal(1L, db.Execute<long>("PRAGMA synchronous"));
            Assert.Equal("wal", db.Execute<string>("PRAGMA journal_mode"));
        }
    }

    [Fact]
    public async Task Records_persisted_and_recovered_across_a_restart_go_through_connections_set_to_normal()
    {
        var journal = InterceptorOf(ActorRuntimePersistence.JournalPluginId);
        var snapshots = InterceptorOf(ActorRuntimePersistence.SnapshotPluginId);
        Assert.Equal(SqliteSynchronous.Normal, journal.Level);
        // The stores and the bus recovered at start: journal replays, snapshot loads.
        var atStart = journal.Opened;
        Assert.True(atStart > 0, "the journal opened no connection through the interceptor");
        Assert.True(snapshots.Opened > 0, "the snapshot store opened no connection through the interceptor");

        var pid = await RunAsync("c1");
        var afterWrites = journal.Opened;
        Assert.True(afterWrites > atStart, "the journal's writes opened no connection through the interceptor");

        await StopRuntimeAsync();
        var snapshotsBefore = snapshots.Opened;
        await StartRuntimeAsync();
        await Runtime.AwaitLoadedAsync().WaitAsync(Bound);
        var c1 = Assert.Single(await RecordsAsync(), r => r.ContainerId == "c1");
        Assert.Equal(pid, c1.Pid);
        Assert.True(journal.Opened > afterWrites, "the recovery read the journal without the interceptor");
        Assert.True(snapshots.Opened > snapshotsBefore, "the recovery loaded snapshots without the interceptor");
    }

    [Fact]
    public void Full_sets_synchronous_2_and_other_providers_get_no_data_options()
    {
        var settings = PersistenceSettings.Create(Options) with { Synchronous = SqliteSynchronous.Full };
        var setup = ActorRuntimePersistence.DataOptionsSetup(settings)!;
        Assert.True(setup.TryGetDataOptionsFor(ActorRuntimePersistence.JournalPluginId, out var options));
        using (var db = new DataConnection(options!))
            Assert.Equal(2L, db.Execute<long>("PRAGMA synchronous"));

        var pg = new ActorRuntimeOptions
        {
            Persistence = new PersistenceOptions { Provider = PersistenceProvider.PostgreSql, ConnectionString = "Host=127.0.0.1;Database=x" },
        };
        Assert.Null(ActorRuntimePersistence.DataOptionsSetup(PersistenceSettings.Create(pg)));
        Assert.False(RuntimeTopology.Setup(pg).Get<MultiDataOptionsSetup>().HasValue);
    }

    private DataOptions DataOptionsOf(string pluginId)
    {
        var setup = Sys.Settings.Setup.Get<MultiDataOptionsSetup>();
        Assert.True(setup.HasValue, "the actor system was created without the data options setup");
        Assert.True(setup.Value.TryGetDataOptionsFor(pluginId, out var options), $"no data options for {pluginId}");
        return options!;
    }

    private SqliteSynchronousInterceptor InterceptorOf(string pluginId) =>
        Assert.Single(DataOptionsOf(pluginId).DataContextOptions.Interceptors?.OfType<SqliteSynchronousInterceptor>() ?? []);
}
