using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json.Nodes;
using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Store;
using ActorRuntime.Store.Contracts;
using ActorRuntime.Tasks;
using Akka.Actor;
using Akka.Configuration;
using Xunit.Abstractions;
using static ActorRuntime.Events.EventBusProtocol;

namespace ActorRuntime.Tests.Store;

/// <summary>
/// Today's code against rows the runtime wrote before stored formats were separate contracts (commit 19ef6c2).
/// Fixtures/format-v1.db was produced once, with Fixtures/FormatV1Fixture.cs run against that commit; it holds, in
/// namespace "fixture": the process store (206 events, snapshot at 200, events up to 200 deleted), the container store
/// (203 events, snapshot at 200), the event bus (15 events incl. a prune, snapshot at 12) and one standalone row each of
/// task-event-v1 and container-v1. A failure here means a change would lose data in existing databases.
/// </summary>
public sealed class FormatV1Spec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly FormatV1Database _db;

    public FormatV1Spec(ITestOutputHelper output)
        : this(new FormatV1Database(), output)
    {
    }

    private FormatV1Spec(FormatV1Database db, ITestOutputHelper output)
        : base(ActorRuntimePersistence.Setup(db.Settings,
                ConfigurationFactory.ParseString("akka.loglevel = INFO").WithFallback(ActorRuntimePersistence.ToConfig(db.Settings))),
            "format-v1", output) =>
        _db = db;

    [Fact]
    public void The_fixture_is_the_one_written_by_the_old_code_and_holds_every_persisted_type()
    {
        Assert.Equal(FormatV1Database.Sha256, FormatV1Database.OriginalHash());
        var rows = _db.AllRows();
        Assert.All(rows, r => Assert.Equal(RuntimeSerializer.Id, r.SerializerId));
        Assert.Equal(
        [
            "container-created-v1", "container-deleted-v1", "container-registry-snapshot-v1", "container-updated-v1", "container-v1",
            "event-bus-snapshot-v1", "event-delivered-v1", "exec-forgotten-v1", "runs-forgotten-v1", "task-event-v1",
            "task-forgotten-v1", "task-recorded-v1", "task-registry-snapshot-v1",
        ], rows.Select(r => r.Manifest).Distinct().Order(StringComparer.Ordinal));
        Assert.All(rows, r => Assert.NotNull(RuntimeFormats.All.ReaderFor(r.Manifest)));
    }

    [Fact]
    public async Task The_process_store_recovers_its_snapshot_and_later_events()
    {
        var snapshot = (ProcessStoreState)Assert.Single(_db.Snapshots("tasks-fixture")).Decode(Sys);
        Assert.Equal(
        [
            Process("c1", "", 101, ProcessStatus.Running, stdio: new Stdio("/fifo/c1-in", "/fifo/c1-out", "", Terminal: true)),
            Process("c1", "e1", 111, ProcessStatus.Stopped, 3, T0.AddMinutes(1), new Stdio("", "/fifo/e1-out", "/fifo/e1-err")),
            Process("c2", "", 201, ProcessStatus.Paused),
        ], Sorted(snapshot.Tasks.Values));

        var events = _db.Journal("tasks-fixture");
        Assert.Equal(Enumerable.Range(200, 7).Select(n => (long)n), events.Select(r => r.SequenceNr));
        Assert.Equal(
        [
            new ProcessStoreEvent.ProcessRecorded(Process("c1", "e1", 111, ProcessStatus.Stopped, 3, T0.AddMinutes(1), new Stdio("", "/fifo/e1-out", "/fifo/e1-err"))),
            new ProcessStoreEvent.ProcessRecorded(Process("c3", "", 301, ProcessStatus.Created, stdio: new Stdio("", "/fifo/c3 out", ""))),
            new ProcessStoreEvent.ProcessRecorded(Process("c1", "e2", 121, ProcessStatus.Created)),
            new ProcessStoreEvent.ProcessRecorded(Process("c1", "e2", 121, ProcessStatus.Running)),
            new ProcessStoreEvent.ExecForgotten("fixture", "c1", "e1"),
            new ProcessStoreEvent.TaskForgotten("fixture", "c2"),
            new ProcessStoreEvent.ProcessRecorded(Process("c1", "", 101, ProcessStatus.Stopped, 137, T0.AddMinutes(2), new Stdio("/fifo/c1-in", "/fifo/c1-out", "", Terminal: true))),
        ], events.Select(r => r.Decode(Sys)));

        var store = Sys.ActorOf(ProcessStore.Props("fixture"));
        var all = await store.Ask<ProcessStoreProtocol.All>(new ProcessStoreProtocol.GetAll(), TimeSpan.FromSeconds(10));
        Assert.Equal(
        [
            Process("c1", "", 101, ProcessStatus.Stopped, 137, T0.AddMinutes(2), new Stdio("/fifo/c1-in", "/fifo/c1-out", "", Terminal: true)),
            Process("c1", "e2", 121, ProcessStatus.Running),
            Process("c3", "", 301, ProcessStatus.Created, stdio: new Stdio("", "/fifo/c3 out", "")),
        ], Sorted(all.Tasks));
    }

    [Fact]
    public async Task The_container_store_recovers_its_snapshot_and_later_events()
    {
        var web = new ContainerRecord("fixture", "web", """{"ociVersion":"1.0.2","process":{"args":["nginx","-g","daemon off;"]}}""",
            "io.containerd.runc.v2", [1, 2, 3, 255], Labels(("app", "shop"), ("tier", "front")), "docker.io/library/nginx:1.27",
            At("2026-11-27T13:08:06.3728658+00:00"), At("2026-11-27T13:08:08.9809299+00:00"));
        var db = new ContainerRecord("fixture", "db", """{"ociVersion":"1.0.2"}""", "io.containerd.runsc.v1", null,
            Labels(("rev", "199")), "postgres:16", At("2026-11-27T13:08:06.491961+00:00"), At("2026-11-27T13:08:08.970888+00:00"));
        var cache = new ContainerRecord("fixture", "cache", "{}", "io.containerd.runc.v2", [], Labels(("a.b/c", "x \"y\"")), "",
            At("2026-11-27T13:08:09.1717356+00:00"), At("2026-11-27T13:08:09.1717356+00:00"));
        var cacheNow = cache with { Labels = Labels(), UpdatedAt = At("2026-11-27T13:08:09.1839962+00:00") };

        var snapshot = Assert.Single(_db.Snapshots("containers-fixture"));
        Assert.Equal(200, snapshot.SequenceNr);
        Assert.Equal([db, web], ((ContainerStoreState)snapshot.Decode(Sys)).Containers.Values);

        var events = _db.Journal("containers-fixture");
        Assert.Equal(203, events.Count);
        Assert.Equal(
        [
            new ContainerStoreEvent.ContainerUpdated(web),
            new ContainerStoreEvent.ContainerDeleted("fixture", "db"),
            new ContainerStoreEvent.ContainerCreated(cache),
            new ContainerStoreEvent.ContainerUpdated(cacheNow),
        ], events.Skip(199).Select(r => r.Decode(Sys)));
        var first = Assert.IsType<ContainerStoreEvent.ContainerCreated>(events[0].Decode(Sys)).Container;
        Assert.Equal(web with { SpecJson = """{"ociVersion":"1.0.2","process":{"args":["nginx"]}}""", UpdatedAt = web.CreatedAt }, first);

        var store = Sys.ActorOf(ContainerStore.Props("fixture"));
        var all = await store.Ask<ContainerStoreProtocol.Containers>(new ContainerStoreProtocol.List("fixture"), TimeSpan.FromSeconds(10));
        Assert.Equal([cacheNow, web], all.Items);
        Assert.Equal([1, 2, 3, 255], all.Items[1].RuntimeOptions);
    }

    [Fact]
    public async Task The_event_bus_recovers_its_runs_and_drops_an_exit_it_already_delivered()
    {
        var snapshot = Assert.IsType<EventBusSnapshot>(Assert.Single(_db.Snapshots("event-bus")).Decode(Sys));
        // v1 also stored where the old read-side stream stood (420, 11); v2 offsets are the bus's own, so reading drops it.
        Assert.Equal((12L, 5L, 0L, 0L),
            (snapshot.LastOffset, snapshot.LastRunId, snapshot.DroppedDuplicates, snapshot.DroppedStale));
        (RunKey, RunState)[] runs =
        [
            // v1 forgot a finished run after the retention: it reads as released when it finished.
            (Key("c-gone"), new RunState(1, 200, 0, true, true, true, true, At("2026-11-27T13:08:10.9227971+00:00"), At("2026-11-27T13:08:10.9227971+00:00"), [],
                ReleasedAt: At("2026-11-27T13:08:10.9227971+00:00"))),
            (Key("c-keep"), new RunState(3, 300, 0, true, true, true, false, At("2026-11-27T13:08:11.8312638+00:00"), null, [299])),
            (Key("c-keep", "e1"), new RunState(4, 310, 3, true, true, true, false, At("2026-11-27T13:08:11.7139426+00:00"), At("2026-11-27T13:08:11.7139426+00:00"), [],
                ReleasedAt: At("2026-11-27T13:08:11.7139426+00:00"))),
            (Key("c-keep", "e2"), new RunState(5, 320, 3, true, false, false, false, At("2026-11-27T13:08:11.941797+00:00"), null, [])),
        ];
        Assert.Equal(runs.Select(Comparable), snapshot.Runs.Select(r => Comparable((r.Key, r.Run))));

        var events = _db.Journal("event-bus").Select(r => r.Decode(Sys)).ToList();
        Assert.Equal(15, events.Count);
        var recreated = Assert.IsType<EventDelivered>(events[5]);
        Assert.Equal(new TaskEvent("fixture", Topics.Create, "c-keep", "", 300, 0, null, T0.AddSeconds(30), 6), recreated.Event);
        Assert.Equal((Key("c-keep"), 3L, 299u), (recreated.Key, recreated.Run!.RunId, Assert.Single(recreated.Run.RetiredPids)));
        Assert.Equal([Key("c-gone"), Key("c-keep", "e1")], Assert.IsType<RunsForgotten>(events[12]).Keys);
        var oom = Assert.IsType<EventDelivered>(events[13]);
        Assert.Equal((Topics.Oom, 13L, (RunKey?)null, (RunState?)null), (oom.Event.Topic, oom.Event.Offset, oom.Key, oom.Run));

        var lastDelivered = events.OfType<EventDelivered>().Max(d => d.Event.Offset);
        var bus = Sys.ActorOf(EventBus.Props(EventBusSettings.Create(Sys.Settings.Config)));
        async Task<Published> Publish(string topic, string container, string exec, uint pid, uint status = 0) =>
            await bus.Ask<Published>(new Publish(new TaskEvent("fixture", topic, container, exec, pid, status,
                topic is Topics.Exit ? T0 : null, DateTimeOffset.UtcNow), WantAck: true), TimeSpan.FromSeconds(10));

        // From the snapshot: c-keep's exit was delivered. From the events after it: e2 started; c-gone forgotten.
        Assert.Equal(PublishOutcome.DroppedDuplicate, (await Publish(Topics.Exit, "c-keep", "", 300, 137)).Outcome);
        Assert.Equal(PublishOutcome.DroppedDuplicate, (await Publish(Topics.Exit, "c-keep", "", 0, 255)).Outcome);
        Assert.Equal(PublishOutcome.DroppedDuplicate, (await Publish(Topics.ExecStarted, "c-keep", "e2", 320)).Outcome);
        Assert.Equal(PublishOutcome.DroppedStale, (await Publish(Topics.Start, "c-keep", "", 299)).Outcome);
        var again = await Publish(Topics.Exit, "c-gone", "", 200);
        Assert.Equal(PublishOutcome.Delivered, again.Outcome);
        // Offsets are the bus's own delivery numbers: the next one continues the journal's without a gap.
        Assert.Equal(lastDelivered + 1, again.Event.Offset);
    }

    /// <summary>While a v1 format is still the one written, what it writes is what v1 wrote (member order aside).</summary>
    [Fact]
    public void Writing_what_was_read_gives_back_the_v1_json()
    {
        var serializer = Assert.IsType<RuntimeSerializer>(Sys.Serialization.FindSerializerForType(typeof(TaskEvent)));
        foreach (var row in _db.AllRows().Where(r => RuntimeFormats.All.ReaderFor(r.Manifest)!.IsCurrent))
        {
            var domain = row.Decode(Sys);
            Assert.Equal(row.Manifest, serializer.Manifest(domain));
            var written = Normalized(JsonNode.Parse(serializer.ToBinary(domain)));
            var stored = Normalized(JsonNode.Parse(row.Payload));
            Assert.True(JsonNode.DeepEquals(stored, written), $"{row.PersistenceId}/{row.SequenceNr} {row.Manifest}:\n{stored}\n{written}");
        }
    }

    /// <summary>The process snapshot lists a dictionary's values, in no particular order.</summary>
    private static JsonNode? Normalized(JsonNode? node)
    {
        if (node is JsonObject o && o["tasks"] is JsonArray tasks)
            o["tasks"] = new JsonArray([.. tasks.OrderBy(t => t!.ToJsonString(), StringComparer.Ordinal).Select(t => t!.DeepClone())]);
        return node;
    }

    private static ProcessRecord Process(string container, string exec, uint pid, ProcessStatus status, uint exitStatus = 0,
        DateTimeOffset? exitedAt = null, Stdio? stdio = null) =>
        new("fixture", container, exec, $"/run/ar/fixture/{container}", stdio ?? Stdio.Null, pid, status, exitStatus, exitedAt);

    private static IEnumerable<ProcessRecord> Sorted(IEnumerable<ProcessRecord> records) =>
        records.OrderBy(r => r.ContainerId, StringComparer.Ordinal).ThenBy(r => r.ExecId, StringComparer.Ordinal);

    private static ImmutableSortedDictionary<string, string> Labels(params (string Key, string Value)[] labels) =>
        labels.ToImmutableSortedDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal);

    private static RunKey Key(string container, string exec = "") => new("fixture", container, exec);

    /// <summary>RetiredPids is an ImmutableList (reference equality); compare it as text.</summary>
    private static (RunKey, RunState, string) Comparable((RunKey Key, RunState Run) r) =>
        (r.Key, r.Run with { RetiredPids = [] }, string.Join(",", r.Run.RetiredPids));

    private static DateTimeOffset At(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _db.Dispose();
    }
}
