using System.Collections.Immutable;
using ActorRuntime.Containers;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Akka.Configuration;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Store;

/// <summary>
/// Both stores on a real SQLite file through <see cref="DurableActor{TState,TCommand,TEvent}"/>: past a snapshot, a
/// restarted store recovers from the snapshot and the events after it; the process store trims what the snapshot covers.
/// </summary>
public sealed class DurableStoresOnSqliteSpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private readonly TempSqlite _db;

    public DurableStoresOnSqliteSpec(ITestOutputHelper output)
        : this(new TempSqlite(), output)
    {
    }

    private DurableStoresOnSqliteSpec(TempSqlite db, ITestOutputHelper output)
        : base(ActorRuntimePersistence.Setup(db.Settings, ActorRuntimePersistence.ToConfig(db.Settings)), "stores", output) =>
        _db = db;

    [Fact]
    public async Task The_process_store_recovers_from_its_snapshot_and_deletes_the_events_it_covers()
    {
        var store = Sys.ActorOf(ProcessStore.Props("ns"));
        var keep = new ProcessRecord("ns", "keep", "", "/b/keep", new Stdio("", "/out", "")).Created(7);
        var churn = new ProcessRecord("ns", "churn", "", "/b/churn", Stdio.Null);
        await store.Ask<ProcessStoreProtocol.Recorded>(new ProcessStoreProtocol.Record(keep, WantAck: true), Timeout);
        for (var i = 1; i <= 202; i++)
            await store.Ask<ProcessStoreProtocol.Recorded>(new ProcessStoreProtocol.Record(churn.Started((uint)i), WantAck: true), Timeout);
        // Unchanged: no event, but the ack still comes.
        await store.Ask<ProcessStoreProtocol.Recorded>(new ProcessStoreProtocol.Record(churn.Started(202), WantAck: true), Timeout);

        await AwaitAssertAsync(() => Assert.Equal(200L, _db.Scalar("SELECT MIN(sequence_number) FROM journal WHERE persistence_id = 'tasks-ns'")),
            Timeout);
        Assert.Equal(203L, _db.Scalar("SELECT MAX(sequence_number) FROM journal WHERE persistence_id = 'tasks-ns'"));
        Assert.Equal(200L, _db.Scalar("SELECT sequence_number FROM snapshot WHERE persistence_id = 'tasks-ns' AND manifest = 'task-registry-snapshot-v2'"));

        // "keep" was only ever event 1, deleted now: it comes back from the snapshot alone.
        var recovered = await Restart(store, () => ProcessStore.Props("ns"));
        var all = await recovered.Ask<ProcessStoreProtocol.All>(new ProcessStoreProtocol.GetAll(), Timeout);
        Assert.Equal([churn.Started(202), keep], all.Tasks.OrderBy(t => t.ContainerId, StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_container_store_recovers_from_its_snapshot_and_keeps_its_events()
    {
        var store = Sys.ActorOf(ContainerStore.Props("ns"));
        var empty = ImmutableSortedDictionary.Create<string, string>(StringComparer.Ordinal);
        var web = await store.Ask<ContainerRecord>(new ContainerStoreProtocol.Create(
            new ContainerRecord("ns", "web", "{}", ContainerRecord.DefaultRuntime, [7], empty, "nginx", default, default)), Timeout);
        var db = await store.Ask<ContainerRecord>(new ContainerStoreProtocol.Create(
            new ContainerRecord("ns", "db", "{}", ContainerRecord.DefaultRuntime, null, empty, "", default, default)), Timeout);
        for (var i = 3; i <= 201; i++)
            db = await store.Ask<ContainerRecord>(new ContainerStoreProtocol.Update("ns", "db", new Dictionary<string, string> { ["rev"] = $"{i}" }), Timeout);

        Assert.Equal(201L, _db.Scalar("SELECT COUNT(*) FROM journal WHERE persistence_id = 'containers-ns'"));
        // The snapshot is saved after the reply to event 200 went out.
        await AwaitAssertAsync(() => Assert.Equal(200L,
            _db.Scalar("SELECT sequence_number FROM snapshot WHERE persistence_id = 'containers-ns' AND manifest = 'container-registry-snapshot-v1'")), Timeout);

        // Without the events the snapshot covers, "web" (event 1) can only come back from the snapshot.
        Watch(store);
        store.Tell(PoisonPill.Instance);
        await ExpectTerminatedAsync(store);
        Assert.Equal(200, _db.Execute("DELETE FROM journal WHERE persistence_id = 'containers-ns' AND sequence_number <= 200"));
        var recovered = Sys.ActorOf(ContainerStore.Props("ns"));
        var all = await recovered.Ask<ContainerStoreProtocol.Containers>(new ContainerStoreProtocol.List("ns"), Timeout);
        Assert.Equal([db, web], all.Items);
        Assert.Equal("201", all.Items[0].Labels["rev"]);
    }

    private async Task<IActorRef> Restart(IActorRef store, Func<Props> props)
    {
        Watch(store);
        store.Tell(PoisonPill.Instance);
        await ExpectTerminatedAsync(store);
        return Sys.ActorOf(props());
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _db.Dispose();
    }
}
