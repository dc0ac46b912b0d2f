using ActorRuntime.Cluster;
using ActorRuntime.Configuration;
using ActorRuntime.Events;
using ActorRuntime.Store;
using ActorRuntime.Tests.Runtime;
using Akka.Actor;
using Akka.Persistence;
using Akka.Streams;
using Akka.Streams.Dsl;
using System.Collections.Immutable;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Cluster;

/// <summary>
/// The merged stream over a real SQL journal: this runtime's own bus (no node suffix: "local") and a second node's bus,
/// stood in for by an actor that writes under "event-bus@node-2" what a bus writes. Counted as read, never de-duplicated.
/// </summary>
public sealed class ClusterEventFeedSpec(ITestOutputHelper output) : RuntimeSpecBase(output,
    "akka.persistence.query.journal.sql.refresh-interval = 200ms", o =>
    {
        o.RootDirectory = Path.Combine(o.StateDirectory!, "db");
        o.Persistence = new PersistenceOptions { Provider = PersistenceProvider.Sqlite };
        o.CallTimeout = TimeSpan.FromSeconds(5); // no deadline is tested here; a real database under load is slower than 1 s
    })
{
    /// <summary>Writes each event it is sent as a bus writes a delivered event, then answers with the event.</summary>
    private sealed class StandInBus : ReceivePersistentActor
    {
        public StandInBus(string persistenceId)
        {
            PersistenceId = persistenceId;
            Command<TaskEvent>(e => Persist(new EventDelivered(e, null, null), _ => Sender.Tell(e)));
        }

        public override string PersistenceId { get; }
    }

    /// <summary>Writes each event it is sent as a node's fence writes what the cluster gives up, then answers with the event.</summary>
    private sealed class StandInFence : ReceivePersistentActor
    {
        public StandInFence(string persistenceId)
        {
            PersistenceId = persistenceId;
            Command<TaskEvent>(e => Persist(new NodeFenceEvent.ContainerGivenUp(e), _ => Sender.Tell(e)));
        }

        public override string PersistenceId { get; }
    }

    private static TaskEvent Exit(string id) =>
        new("default", Topics.Exit, id, "", 7, 3, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);

    private Task<IImmutableList<ClusterTaskEvent>> ReadAsync(long from) =>
        ClusterEventFeed.From(Sys, from, live: false).RunWith(Sink.Seq<ClusterTaskEvent>(), Sys.Materializer()).WaitAsync(Bound);

    [Fact]
    public async Task Every_nodes_events_come_once_each_in_journal_order_with_their_node_and_a_reader_resumes_after_any_position()
    {
        var node2 = Sys.ActorOf(Props.Create(() => new StandInBus("event-bus@node-2")));
        await RunAsync("c1");
        for (var i = 0; i < 5; i++) await node2.Ask<TaskEvent>(Exit($"remote-{i}"), Bound);
        await RunAsync("c2");
        await SettleAsync();

        var all = await ReadAsync(0);

        Assert.Equal(all.Count, all.Select(e => e.Position).Distinct().Count());
        Assert.True(all.Zip(all.Skip(1), (a, b) => a.Position < b.Position).All(ok => ok), "positions in journal order");
        Assert.Equal(["remote-0", "remote-1", "remote-2", "remote-3", "remote-4"],
            all.Where(e => e.Node == "node-2").Select(e => e.Event.ContainerId));
        // This node's events are the ones its bus delivered, each once, in the bus's own order.
        var local = all.Where(e => e.Node == "local").Select(e => e.Event).ToList();
        Assert.Equal(Events.Select(e => (e.Topic, e.ContainerId, e.Offset)), local.Select(e => (e.Topic, e.ContainerId, e.Offset)));
        Assert.Contains(local, e => e.Topic == Topics.Start && e.ContainerId == "c2");
        Assert.Equal(all.Count, all.Count(e => e.Node is "local" or "node-2"));

        for (var k = 0; k < all.Count; k++)
            Assert.Equal(all.Skip(k + 1).Select(e => e.Position), (await ReadAsync(all[k].Position)).Select(e => e.Position));
    }

    [Fact]
    public async Task What_the_cluster_gave_up_for_a_node_is_in_the_stream_once_under_that_node_with_the_reason()
    {
        var node2 = Sys.ActorOf(Props.Create(() => new StandInBus("event-bus@node-2")));
        var fence2 = Sys.ActorOf(Props.Create(() => new StandInFence(NodeFence.PersistenceIdOf("node-2"))));
        await node2.Ask<TaskEvent>(Exit("own"), Bound);
        foreach (var e in NodeFenceState.GivenUpEvents(new("default", "given-up"), DateTimeOffset.UnixEpoch)
                     .Cast<NodeFenceEvent.ContainerGivenUp>())
            await fence2.Ask<TaskEvent>(e.Event, Bound);

        var all = await ReadAsync(0);
        Assert.Equal([("own", Topics.Exit, 3u, null), ("given-up", Topics.Exit, 255u, "node lost"), ("given-up", Topics.Delete, 255u, "node lost")],
            all.Where(e => e.Node == "node-2").Select(e => (e.Event.ContainerId, e.Event.Topic, e.Event.ExitStatus, e.Reason)));
    }

    [Fact]
    public async Task A_live_reader_gets_events_written_after_it_started_once_each_and_in_order()
    {
        var node2 = Sys.ActorOf(Props.Create(() => new StandInBus("event-bus@node-2")));
        await node2.Ask<TaskEvent>(Exit("before"), Bound);
        var start = (await ReadAsync(0)).Last().Position;
        var probe = CreateTestProbe();
        var (kill, _) = ClusterEventFeed.From(Sys, start, live: true)
            .ViaMaterialized(KillSwitches.Single<ClusterTaskEvent>(), Keep.Right)
            .ToMaterialized(Sink.ForEach<ClusterTaskEvent>(e => probe.Ref.Tell(e)), Keep.Both)
            .Run(Sys.Materializer());
        try
        {
            await node2.Ask<TaskEvent>(Exit("after-1"), Bound);
            await RunAsync("c1");
            await node2.Ask<TaskEvent>(Exit("after-2"), Bound);
            await SettleAsync();

            var received = new List<ClusterTaskEvent>();
            var expected = 2 + Events.Count;
            for (var i = 0; i < expected; i++) received.Add(await probe.ExpectMsgAsync<ClusterTaskEvent>(Bound));
            // A last event written after all of these is the next one the reader gets: nothing came twice in between.
            await node2.Ask<TaskEvent>(Exit("last"), Bound);
            Assert.Equal("last", (await probe.ExpectMsgAsync<ClusterTaskEvent>(Bound)).Event.ContainerId);

            Assert.Equal(["after-1", "after-2"], received.Where(e => e.Node == "node-2").Select(e => e.Event.ContainerId));
            Assert.Equal(Events.Select(e => e.Offset), received.Where(e => e.Node == "local").Select(e => e.Event.Offset));
            Assert.True(received.All(e => e.Position > start), "only events after the start position");
            Assert.True(received.Zip(received.Skip(1), (a, b) => a.Position < b.Position).All(ok => ok), "positions in journal order");
        }
        finally
        {
            kill.Shutdown();
        }
    }
}
