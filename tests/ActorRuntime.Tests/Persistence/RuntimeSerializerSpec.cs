using System.Collections.Immutable;
using System.Runtime.Serialization;
using System.Text;
using ActorRuntime.Events;
using ActorRuntime.Store;
using ActorRuntime.Store.Contracts;
using ActorRuntime.Tasks;
using Akka.Actor;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Persistence;

public sealed class RuntimeSerializerSpec(ITestOutputHelper output)
    : Akka.TestKit.Xunit2.TestKit(ActorRuntimePersistence.Defaults, "serializer", output)
{
    /// <summary>A domain record; what is stored is one of the contracts below, never this.</summary>
    public sealed record Thing(string Name, int Count);

    public sealed record ThingV1(string Name, int Count);

    /// <summary>The next format: a member renamed and one added.</summary>
    public sealed record ThingV2(string Label, int Count, string Unit);

    private static readonly PersistedFormat ThingAsV1 =
        PersistedFormat.Current<Thing, ThingV1>("spec-thing-v1", t => new(t.Name, t.Count), c => new(c.Name, c.Count));

    private ExtendedActorSystem Ext => (ExtendedActorSystem)Sys;

    [Fact]
    public void A_new_format_gets_a_new_manifest_and_rows_of_the_old_one_are_upcast()
    {
        var before = new RuntimeSerializer(Ext, new PersistedFormats([ThingAsV1]));
        var old = before.ToBinary(new Thing("exit", 7));
        Assert.Equal("spec-thing-v1", before.Manifest(new Thing("exit", 7)));
        Assert.Equal("""{"name":"exit","count":7}""", Encoding.UTF8.GetString(old));

        var after = new RuntimeSerializer(Ext, new PersistedFormats(
        [
            PersistedFormat.Current<Thing, ThingV2>("spec-thing-v2", t => new(t.Name, t.Count, "items"), c => new(c.Label, c.Count)),
            PersistedFormat.Legacy<ThingV1, Thing>("spec-thing-v1", c => new(c.Name, c.Count)),
        ]));
        Assert.Equal(new Thing("exit", 7), after.FromBinary(old, "spec-thing-v1"));
        Assert.Equal("spec-thing-v2", after.Manifest(new Thing("exit", 7)));
        var current = after.ToBinary(new Thing("exit", 7));
        Assert.Equal("""{"label":"exit","count":7,"unit":"items"}""", Encoding.UTF8.GetString(current));
        Assert.Equal(new Thing("exit", 7), after.FromBinary(current, "spec-thing-v2"));
    }

    [Fact]
    public void An_unknown_manifest_or_type_is_a_clear_serialization_exception()
    {
        var serializer = new RuntimeSerializer(Ext);
        var ex = Assert.Throws<SerializationException>(() => serializer.FromBinary("{}"u8.ToArray(), "no-such-thing-v9"));
        Assert.Contains("unknown manifest \"no-such-thing-v9\"", ex.Message);
        Assert.Contains("task-event-v1", ex.Message);
        Assert.Throws<SerializationException>(() => serializer.Manifest(new Thing("x", 1)));
        Assert.Throws<SerializationException>(() => serializer.ToBinary(new ThingV1("x", 1)));
    }

    [Fact]
    public void A_row_that_does_not_fit_its_contract_is_refused_naming_its_manifest()
    {
        var serializer = new RuntimeSerializer(Ext);
        foreach (var manifest in new[] { "task-recorded-v1", "task-recorded-v2" })
        foreach (var json in new[] { """{"task":null}""", "{}", """{"namespace":"ns"}""" })
        {
            var ex = Assert.Throws<SerializationException>(() => serializer.FromBinary(Encoding.UTF8.GetBytes(json), manifest));
            Assert.Contains($"\"{manifest}\"", ex.Message);
        }
        var status = Assert.Throws<SerializationException>(() => serializer.FromBinary(Encoding.UTF8.GetBytes(
            """{"task":{"namespace":"ns","containerId":"c","execId":"","bundle":"/b","stdio":{"stdin":"","stdout":"","stderr":"","terminal":false},"pid":1,"status":17,"exitStatus":0,"exitedAt":null}}"""),
            "task-recorded-v1"));
        Assert.Contains("status 17", status.Message);
    }

    [Fact]
    public void A_v1_process_row_with_null_strings_or_stdio_reads_them_as_empty_instead_of_stopping_recovery()
    {
        var serializer = new RuntimeSerializer(Ext);
        var read = (ProcessStoreEvent.ProcessRecorded)serializer.FromBinary(Encoding.UTF8.GetBytes(
            """{"task":{"namespace":"ns","containerId":"c","execId":null,"bundle":null,"stdio":{"stdin":null,"stdout":"/o","stderr":null,"terminal":true},"pid":1,"status":2,"exitStatus":0,"exitedAt":null}}"""),
            "task-recorded-v1");
        Assert.Equal(new ProcessRecord("ns", "c", "", "", new Stdio("", "/o", "", true), 1, ProcessStatus.Running), read.Process);
        var noStdio = (ProcessStoreState)serializer.FromBinary(Encoding.UTF8.GetBytes(
            """{"tasks":[{"namespace":"ns","containerId":"c","execId":"","bundle":"/b","stdio":null,"pid":1,"status":3,"exitStatus":7,"exitedAt":"2026-03-01T12:00:00+00:00"}]}"""),
            "task-registry-snapshot-v1");
        var task = Assert.Single(noStdio.Tasks.Values);
        Assert.Equal((new Stdio("", "", "", false), 7u, false), (task.Stdio, task.ExitStatus, task.ExitPublished));
    }

    [Fact]
    public void A_process_record_is_written_as_v2_and_keeps_whether_its_exit_was_published()
    {
        var serializer = new RuntimeSerializer(Ext);
        var record = new ProcessRecord("ns", "c", "e", "/b", new Stdio("", "", "", false), 9, ProcessStatus.Stopped, 3,
            DateTimeOffset.UnixEpoch, ExitPublished: true);
        var recorded = new ProcessStoreEvent.ProcessRecorded(record);
        Assert.Equal("task-recorded-v2", serializer.Manifest(recorded));
        Assert.Equal(recorded, serializer.FromBinary(serializer.ToBinary(recorded), "task-recorded-v2"));
        var state = ProcessStoreState.Of([record]);
        Assert.Equal("task-registry-snapshot-v2", serializer.Manifest(state));
        var back = (ProcessStoreState)serializer.FromBinary(serializer.ToBinary(state), "task-registry-snapshot-v2");
        Assert.Equal(record, Assert.Single(back.Tasks.Values));
    }

    [Fact]
    public void A_manifest_used_twice_or_a_type_written_in_two_formats_is_refused()
    {
        var twice = Assert.Throws<ArgumentException>(() => new PersistedFormats(
            [ThingAsV1, PersistedFormat.Legacy<ThingV2, Thing>("spec-thing-v1", c => new(c.Label, c.Count))]));
        Assert.Contains("spec-thing-v1", twice.Message);

        var written = Assert.Throws<ArgumentException>(() => new PersistedFormats(
            [ThingAsV1, PersistedFormat.Current<Thing, ThingV2>("spec-thing-v2", t => new(t.Name, t.Count, ""), c => new(c.Label, c.Count))]));
        Assert.Contains("Legacy", written.Message);
    }

    [Fact]
    public void The_runtime_reads_every_manifest_it_ever_wrote_and_binds_every_type_it_writes()
    {
        // event-bus-snapshot-v1 and v2, event-delivered-v1 and v2, task-event-v1 are read only (upcast); v3 and v2 keep a
        // run's release and exit figures, event-delivered-v3 and task-event-v2 a non-task event's payload. Likewise the process store's v1 records and snapshots; v2 records whether a run's exit is published.
        Assert.Equal(
        [
            "container-created-v1", "container-deleted-v1", "container-given-up-v1", "container-registry-snapshot-v1",
            "container-updated-v1", "container-v1", "event-bus-snapshot-v1", "event-bus-snapshot-v2", "event-bus-snapshot-v3", "event-delivered-v1", "event-delivered-v2",
            "event-delivered-v3", "exec-forgotten-v1", "lease-created-v1", "lease-deleted-v1", "lease-store-snapshot-v1", "namespace-created-v1",
            "namespace-deleted-v1", "namespace-store-snapshot-v1", "namespace-updated-v1", "node-fence-snapshot-v1", "node-fenced-v1",
            "node-given-up-v1", "node-giving-up-v1", "node-lost-v1", "node-serving-v1", "runs-forgotten-v1", "runs-given-up-v1", "runs-released-v1",
            "task-event-v1", "task-event-v2",
            "task-forgotten-v1", "task-recorded-v1", "task-recorded-v2", "task-registry-snapshot-v1", "task-registry-snapshot-v2",
        ], RuntimeFormats.All.Manifests);
        Assert.Equal(29, RuntimeFormats.All.WrittenTypes.Count());
        foreach (var type in RuntimeFormats.All.WrittenTypes)
        {
            var bound = Sys.Serialization.FindSerializerForType(type);
            Assert.True(bound is RuntimeSerializer, $"{type.Name} is bound to {bound.GetType().Name}");
            Assert.Equal(RuntimeSerializer.Id, bound.Identifier);
        }
    }

    [Fact]
    public void A_nodes_fence_events_and_snapshot_round_trip()
    {
        var serializer = new RuntimeSerializer(Ext);
        T RoundTrip<T>(T value) where T : class =>
            (T)serializer.FromBinary(serializer.ToBinary(value), serializer.Manifest(value));
        var at = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

        Assert.Equal(new ActorRuntime.Cluster.NodeFenceEvent.Serving(7, at), RoundTrip(new ActorRuntime.Cluster.NodeFenceEvent.Serving(7, at)));
        Assert.Equal(new ActorRuntime.Cluster.NodeFenceEvent.Lost(at), RoundTrip(new ActorRuntime.Cluster.NodeFenceEvent.Lost(at)));
        Assert.Equal(new ActorRuntime.Cluster.NodeFenceEvent.GivenUp(at), RoundTrip(new ActorRuntime.Cluster.NodeFenceEvent.GivenUp(at)));
        Assert.Equal(new ActorRuntime.Cluster.NodeFenceEvent.GivingUp(at), RoundTrip(new ActorRuntime.Cluster.NodeFenceEvent.GivingUp(at)));
        Assert.Equal(new ActorRuntime.Cluster.NodeFenceEvent.Fenced(8, at), RoundTrip(new ActorRuntime.Cluster.NodeFenceEvent.Fenced(8, at)));
        var exit = ActorRuntime.Cluster.NodeFenceState.GivenUpEvents(new("ns", "c"), at).Cast<ActorRuntime.Cluster.NodeFenceEvent.ContainerGivenUp>().First();
        Assert.Equal(exit.Event, RoundTrip(exit).Event);

        var state = new ActorRuntime.Cluster.NodeFenceState(ActorRuntime.Cluster.NodeFenceState.Standing.GivenUp, 3, at, [new("ns", "a"), new("ns", "b")],
            at.AddHours(-1));
        var back = RoundTrip(state);
        Assert.Equal((state.Status, state.ServingUid, state.LostAt, state.ServingSince), (back.Status, back.ServingUid, back.LostAt, back.ServingSince));
        Assert.Equal(state.ToFence, back.ToFence);

        // What the fence writes into a lost node's bus journal.
        var givenUp = new ActorRuntime.Events.RunsGivenUp([new("ns", "a", ""), new("ns", "a", "e1")], 255, at);
        Assert.Equal("runs-given-up-v1", serializer.Manifest(givenUp));
        var givenUpBack = RoundTrip(givenUp);
        Assert.Equal(givenUp.Keys, givenUpBack.Keys);
        Assert.Equal((255u, at), (givenUpBack.ExitStatus, givenUpBack.At));
    }

    [Fact]
    public void Namespace_events_and_snapshots_round_trip_with_their_labels()
    {
        var serializer = new RuntimeSerializer(Ext);
        T RoundTrip<T>(T value) where T : class =>
            (T)serializer.FromBinary(serializer.ToBinary(value), serializer.Manifest(value));
        var ns = NamespaceRecord.Of("x", new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" });

        var created = RoundTrip(new NamespaceStoreEvent.NamespaceCreated(ns));
        Assert.Equal("x", created.Namespace.Name);
        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" }, created.Namespace.Labels);
        Assert.Equal(ns.Labels, RoundTrip(new NamespaceStoreEvent.NamespaceUpdated(ns)).Namespace.Labels);
        Assert.Equal("x", RoundTrip(new NamespaceStoreEvent.NamespaceDeleted("x")).Name);
        var snapshot = RoundTrip(NamespaceStoreState.Of([ns, NamespaceRecord.Of("y", [])]));
        Assert.Equal(["x", "y"], snapshot.Namespaces.Keys);
        Assert.Equal(ns.Labels, snapshot.Namespaces["x"].Labels);
    }

    [Fact]
    public void Lease_events_and_snapshots_round_trip_with_their_labels_and_creation_time()
    {
        var serializer = new RuntimeSerializer(Ext);
        T RoundTrip<T>(T value) where T : class =>
            (T)serializer.FromBinary(serializer.ToBinary(value), serializer.Manifest(value));
        var lease = LeaseRecord.Of("ns", "921556121--XfP", new Dictionary<string, string> { ["containerd.io/gc.expire"] = "soon" },
            DateTimeOffset.UnixEpoch.AddDays(20_000));

        var created = RoundTrip(new LeaseStoreEvent.LeaseCreated(lease)).Lease;
        Assert.Equal((lease.Namespace, lease.Id, lease.CreatedAt), (created.Namespace, created.Id, created.CreatedAt));
        Assert.Equal(lease.Labels, created.Labels);
        Assert.Equal(new LeaseStoreEvent.LeaseDeleted("ns", "l1"), RoundTrip(new LeaseStoreEvent.LeaseDeleted("ns", "l1")));
        var snapshot = RoundTrip(LeaseStoreState.Of([lease, LeaseRecord.Of("other", lease.Id, [], lease.CreatedAt)]));
        Assert.Equal(2, snapshot.Leases.Count);
        Assert.Equal(lease.Labels, snapshot.Leases["ns/" + lease.Id].Labels);
    }

    [Fact]
    public void Decisions_and_snapshots_round_trip()
    {
        var serializer = new RuntimeSerializer(Ext);
        var e = new TaskEvent("moby", Topics.Exit, "c1", "e1", 42, 137, DateTimeOffset.UnixEpoch.AddHours(1), DateTimeOffset.UnixEpoch, 5);
        var run = new RunState(3, 42, 2, true, true, true, false, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, ImmutableList.Create(7u, 9u));
        var delivered = new EventDelivered(e, RunKey.Of(e), run);
        var back = (EventDelivered)serializer.FromBinary(serializer.ToBinary(delivered), serializer.Manifest(delivered));
        Assert.Equal(e, back.Event);
        Assert.Equal(RunKey.Of(e), back.Key);
        Assert.Equal(run with { RetiredPids = [] }, back.Run! with { RetiredPids = [] });
        Assert.Equal([7u, 9u], back.Run!.RetiredPids);

        var state = EventBusState.Empty.Apply(EventBusState.Empty.Decide(e, DateTimeOffset.UnixEpoch));
        var snapshot = EventBusSnapshot.Of(state);
        var restored = (EventBusSnapshot)serializer.FromBinary(serializer.ToBinary(snapshot), serializer.Manifest(snapshot));
        Assert.Equal(state.LastOffset, restored.ToState().LastOffset);
        Assert.Equal(state.Runs.Single().Value with { RetiredPids = [] }, restored.ToState().Runs.Single().Value with { RetiredPids = [] });
        Assert.Equal(state.Runs.Single().Key, restored.ToState().Runs.Single().Key);
    }

    [Fact]
    public void An_event_with_a_payload_is_written_as_v3_and_a_v2_row_reads_as_a_task_event_without_one()
    {
        var serializer = new RuntimeSerializer(Ext);
        var e = new TaskEvent("default", "/containers/create", "c1", "", 0, 0, null, DateTimeOffset.UnixEpoch, 8,
            new EventPayload("containerd.events.ContainerCreate", [10, 2, 99, 49]));
        var delivered = new EventDelivered(e, null, null);
        Assert.Equal("event-delivered-v3", serializer.Manifest(delivered));
        var back = (EventDelivered)serializer.FromBinary(serializer.ToBinary(delivered), "event-delivered-v3");
        Assert.Equal(e, back.Event);
        Assert.Equal([10, 2, 99, 49], back.Event.Payload!.Value);
        Assert.Equal("task-event-v2", serializer.Manifest(e));

        var v2 = (EventDelivered)serializer.FromBinary(Encoding.UTF8.GetBytes(
            """{"key":null,"run":null,"event":{"namespace":"ns","topic":"/tasks/oom","containerId":"c","execId":"","pid":0,"exitStatus":0,"exitedAt":null,"timestamp":"1970-01-01T00:00:00+00:00","offset":4}}"""),
            "event-delivered-v2");
        Assert.Equal(new TaskEvent("ns", "/tasks/oom", "c", "", 0, 0, null, DateTimeOffset.UnixEpoch, 4), v2.Event);
        Assert.Null(v2.Event.Payload);
    }
}
