using System.Collections.Immutable;
using System.Runtime.Serialization;
using System.Text;
using ActorRuntime.Configuration;
using ActorRuntime.Events;
using ActorRuntime.Store;
using Akka.Actor;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Persistence;

public sealed class RuntimeSerializerSpec(ITestOutputHelper output)
    : Akka.TestKit.Xunit2.TestKit(RuntimeSettings.DefaultConfig, "serializer", output)
{
    [PersistedAs("spec-thing-v1")]
    public sealed record OldThing(string Name, int Count) : IPersisted;

    /// <summary>OldThing after a rename (and a new optional member): same manifest, so old bytes still read.</summary>
    [PersistedAs("spec-thing-v1")]
    public sealed record RenamedThing(string Name, int Count, string Extra = "default") : IPersisted;

    private ExtendedActorSystem Ext => (ExtendedActorSystem)Sys;

    [Fact]
    public void A_renamed_type_with_the_same_manifest_still_deserializes()
    {
        var before = new RuntimeSerializer(Ext, [typeof(OldThing)]);
        var bytes = before.ToBinary(new OldThing("exit", 7));
        var manifest = before.Manifest(new OldThing("exit", 7));
        Assert.Equal("spec-thing-v1", manifest);
        Assert.Equal("""{"name":"exit","count":7}""", Encoding.UTF8.GetString(bytes));
        Assert.DoesNotContain(nameof(OldThing), Encoding.UTF8.GetString(bytes));

        var after = new RuntimeSerializer(Ext, [typeof(RenamedThing)]);
        Assert.Equal(new RenamedThing("exit", 7), after.FromBinary(bytes, manifest));
    }

    [Fact]
    public void An_unknown_manifest_is_a_clear_serialization_exception()
    {
        var serializer = new RuntimeSerializer(Ext);
        var ex = Assert.Throws<SerializationException>(() => serializer.FromBinary("{}"u8.ToArray(), "no-such-thing-v9"));
        Assert.Contains("unknown manifest \"no-such-thing-v9\"", ex.Message);
        Assert.Contains("task-event-v1", ex.Message);
        Assert.Throws<SerializationException>(() => serializer.Manifest(new OldThing("x", 1)));
    }

    [Fact]
    public void The_same_manifest_on_two_types_is_refused()
    {
        var ex = Assert.Throws<ArgumentException>(() => new RuntimeSerializer(Ext, [typeof(OldThing), typeof(RenamedThing)]));
        Assert.Contains("spec-thing-v1", ex.Message);
    }

    [Fact]
    public void Everything_the_runtime_persists_is_discovered_and_bound_to_it()
    {
        var serializer = new RuntimeSerializer(Ext);
        Assert.Equal(typeof(TaskEvent), serializer.Types["task-event-v1"]);
        Assert.Equal(typeof(EventDelivered), serializer.Types["event-delivered-v1"]);
        Assert.Equal(typeof(RunsForgotten), serializer.Types["runs-forgotten-v1"]);
        Assert.Equal(typeof(EventBusSnapshot), serializer.Types["event-bus-snapshot-v1"]);

        var e = new TaskEvent("moby", Topics.Exit, "c1", "", 42, 137, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 5);
        foreach (var o in new object[] { e, new EventDelivered(e, RunKey.Of(e), new RunState(3, 42, 0, true, true, true, false, DateTimeOffset.UnixEpoch, null, [7u, 9u])) })
        {
            var bound = Sys.Serialization.FindSerializerFor(o);
            Assert.IsType<RuntimeSerializer>(bound);
            Assert.Equal(RuntimeSerializer.Id, bound.Identifier);
        }
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
}
