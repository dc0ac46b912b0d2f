#:project ../../../../src/ActorRuntime/ActorRuntime.csproj
#:property PublishAot=false
// Writes format-v1.db: journal and snapshot rows of every persisted type, written by the runtime as of commit 19ef6c2
// (the last commit where the domain records were themselves the stored format). Not part of the test build and never
// re-run: the fixture is frozen, and regenerating it with later code would test that code against itself.
// How it was run (see FormatV1Spec for what the rows contain):
//   git worktree add /tmp/format-v1 19ef6c2
//   cp tests/ActorRuntime.Tests/Store/Fixtures/FormatV1Fixture.cs /tmp/format-v1/tests/ActorRuntime.Tests/Store/Fixtures/
//   cd /tmp/format-v1/tests/ActorRuntime.Tests/Store/Fixtures && dotnet run FormatV1Fixture.cs -- format-v1.db
using System.Collections.Immutable;
using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Microsoft.Data.Sqlite;

var file = Path.GetFullPath(args.Length > 0 ? args[0] : "format-v1.db");
if (File.Exists(file)) throw new InvalidOperationException($"{file} exists; the fixture is written once");
var settings = new ActorRuntime.Store.PersistenceSettings(PersistenceProvider.Sqlite, $"Data Source={file}", Path.GetDirectoryName(file)!);
var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING").WithFallback(ActorRuntimePersistence.ToConfig(settings));
var timeout = TimeSpan.FromSeconds(15);
var t0 = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

var system = ActorSystem.Create("format-v1", config);

// ---- tasks-fixture: 200 events, snapshot at 200 (which deletes events 1..200), then 6 more events.
var processes = system.ActorOf(ProcessStore.Props("fixture"), "processes");
async Task Record(ProcessRecord r) =>
    await processes.Ask<ProcessStoreProtocol.Recorded>(new ProcessStoreProtocol.Record(r, WantAck: true), timeout);
var c1 = new ProcessRecord("fixture", "c1", "", "/run/ar/fixture/c1", new Stdio("/fifo/c1-in", "/fifo/c1-out", "", Terminal: true));
var e1 = new ProcessRecord("fixture", "c1", "e1", "/run/ar/fixture/c1", new Stdio("", "/fifo/e1-out", "/fifo/e1-err"));
var c2 = new ProcessRecord("fixture", "c2", "", "/run/ar/fixture/c2", Stdio.Null);
await Record(c1.Created(101));                                    // 1
await Record(c1.Started(101));                                    // 2
await Record(e1.Started(111));                                    // 3
await Record(c2.Created(201));                                    // 4
await Record(c2.Created(201).Paused());                           // 5
var churn = new ProcessRecord("fixture", "churn", "", "/run/ar/fixture/churn", Stdio.Null);
for (var i = 0; i < 193; i++) await Record(churn.Started(1000 + (uint)i)); // 6..198
processes.Tell(new ProcessStoreProtocol.Forget("fixture", "churn"));      // 199
await Record(e1.Started(111).Exited(3, t0.AddMinutes(1)));       // 200: snapshot
var c3 = new ProcessRecord("fixture", "c3", "", "/run/ar/fixture/c3", new Stdio("", "/fifo/c3 out", ""));
var e2 = new ProcessRecord("fixture", "c1", "e2", "/run/ar/fixture/c1", Stdio.Null);
await Record(c3.Created(301));                                    // 201
await Record(e2.Created(121));                                    // 202
await Record(e2.Started(121));                                    // 203
processes.Tell(new ProcessStoreProtocol.ForgetExec("fixture", "c1", "e1")); // 204
processes.Tell(new ProcessStoreProtocol.Forget("fixture", "c2"));          // 205
await Record(c1.Started(101).Exited(137, t0.AddMinutes(2)));     // 206

// ---- containers-fixture: 200 events, snapshot at 200 (events kept), then 3 more events.
var containers = system.ActorOf(ContainerStore.Props("fixture"), "containers");
async Task Ask(object command)
{
    if (await containers.Ask<object>(command, timeout) is TaskProtocol.Failed failed) throw new InvalidOperationException(failed.Message);
}
var web = new ContainerRecord("fixture", "web", """{"ociVersion":"1.0.2","process":{"args":["nginx"]}}""",
    ContainerRecord.DefaultRuntime, [1, 2, 3, 255],
    ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create("app", "shop"), KeyValuePair.Create("tier", "front")]),
    "docker.io/library/nginx:1.27", default, default);
var db = new ContainerRecord("fixture", "db", """{"ociVersion":"1.0.2"}""", "io.containerd.runsc.v1", null,
    ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal), "postgres:16", default, default);
await Ask(new ContainerStoreProtocol.Create(web));                // 1
await Ask(new ContainerStoreProtocol.Create(db));                 // 2
for (var i = 3; i < 200; i++)                                     // 3..199
    await Ask(new ContainerStoreProtocol.Update("fixture", "db", new Dictionary<string, string> { ["rev"] = i.ToString() }));
await Ask(new ContainerStoreProtocol.Update("fixture", "web", SpecJson: """{"ociVersion":"1.0.2","process":{"args":["nginx","-g","daemon off;"]}}""")); // 200: snapshot
await Ask(new ContainerStoreProtocol.Delete("fixture", "db"));               // 201
var cache = new ContainerRecord("fixture", "cache", "{}", ContainerRecord.DefaultRuntime, [],
    ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create("a.b/c", "x \"y\"")]),
    "", default, default);
await Ask(new ContainerStoreProtocol.Create(cache));              // 202
await Ask(new ContainerStoreProtocol.Update("cache", Labels: new Dictionary<string, string>())); // 203

// ---- event-bus: 12 delivered decisions (snapshots after 6 and 12, the older one deleted), a duplicate dropped,
// one prune (RunsForgotten of the deleted c-gone and the exited exec c-keep/e1), then 2 more delivered decisions.
var busSettings = EventBusSettings.Create(config) with
{
    SnapshotEvery = 6,
    Retention = new RunRetention(TimeSpan.FromSeconds(1)),
    PruneInterval = TimeSpan.FromSeconds(4),
};
var bus = system.ActorOf(EventBus.Props(busSettings), "event-bus");
async Task<EventBusProtocol.Published> Publish(string topic, string container, string exec, uint pid, uint status = 0, DateTimeOffset? exitedAt = null) =>
    await bus.Ask<EventBusProtocol.Published>(new EventBusProtocol.Publish(
        new TaskEvent("fixture", topic, container, exec, pid, status, exitedAt, t0.AddSeconds(30)), WantAck: true), timeout);
var published = new List<EventBusProtocol.Published>
{
    await Publish(Topics.Create, "c-gone", "", 200),
    await Publish(Topics.Start, "c-gone", "", 200),
    await Publish(Topics.Exit, "c-gone", "", 200, 0, t0),
    await Publish(Topics.Delete, "c-gone", "", 200, 0, t0),
    await Publish(Topics.Create, "c-keep", "", 299),
    await Publish(Topics.Create, "c-keep", "", 300), // another pid: a new run, 299 retired
    await Publish(Topics.Start, "c-keep", "", 300),
    await Publish(Topics.ExecAdded, "c-keep", "e1", 310),
    await Publish(Topics.ExecStarted, "c-keep", "e1", 310),
    await Publish(Topics.Exit, "c-keep", "e1", 310, 1, t0.AddSeconds(1)),
    await Publish(Topics.Exit, "c-keep", "", 300, 137, t0.AddSeconds(2)),
    await Publish(Topics.ExecAdded, "c-keep", "e2", 320),
    await Publish(Topics.Exit, "c-keep", "", 300, 137, t0.AddSeconds(2)), // duplicate: dropped, not journaled
};
await Task.Delay(TimeSpan.FromSeconds(5)); // one prune tick
published.Add(await Publish(Topics.Oom, "c-keep", "", 0));
published.Add(await Publish(Topics.ExecStarted, "c-keep", "e2", 320));
foreach (var p in published) Console.WriteLine($"bus {p.Outcome} {p.Event.Topic} {p.Event.ContainerId}/{p.Event.ExecId} offset {p.Event.Offset}");

// ---- fixture-standalone: the two remaining bound types, never journaled on their own by the runtime's actors.
var standalone = system.ActorOf(Props.Create(() => new Standalone()), "standalone");
await standalone.Ask<Done>(new TaskEvent("fixture", Topics.Exit, "c9", "e9", 909, 9, t0, t0.AddSeconds(9), Offset: 42), timeout);
await standalone.Ask<Done>(web with { CreatedAt = t0, UpdatedAt = t0.AddHours(1) }, timeout);

await system.Terminate();
SqliteConnection.ClearAllPools();
await using (var connection = new SqliteConnection(settings.ConnectionString))
{
    await connection.OpenAsync();
    await using var vacuum = connection.CreateCommand();
    vacuum.CommandText = "VACUUM";
    await vacuum.ExecuteNonQueryAsync();
}
SqliteConnection.ClearAllPools();
Console.WriteLine($"wrote {file}");

internal sealed class Standalone : ReceivePersistentActor
{
    public Standalone()
    {
        Command<object>(o => Persist(o, _ => Sender.Tell(Done.Instance)));
        Recover<object>(_ => { });
    }

    public override string PersistenceId => "fixture-standalone";
}
