using ActorRuntime.Cluster;
using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Tests.Runtime;
using Akka.Actor;
using Akka.Persistence;
using Xunit.Abstractions;
using static ActorRuntime.Cluster.NodeFenceProtocol;

namespace ActorRuntime.Tests.Cluster;

/// <summary>
/// A node's fence as an actor, in a one-node cluster (its ownership map, the in-memory journal), for a node "n2" that is
/// never there: the grace period's end gives up what the map gives n2, writes each exit and delete once however often it
/// is told again, releases only n2's entries, and the orders survive the fence's restart until n2 reports it is fenced.
/// </summary>
public sealed class NodeFenceSpec(ITestOutputHelper output) : RuntimeSpecBase(output, OneNodeCluster.Hocon(OneNodeCluster.Node))
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);

    /// <summary>Replays a persistence id and reports every event it holds, as written (nothing merged).</summary>
    private sealed class Replay : ReceivePersistentActor
    {
        private readonly List<object> _events = [];

        public Replay(string persistenceId)
        {
            PersistenceId = persistenceId;
            Recover<NodeFenceEvent>(e => _events.Add(e));
            Command<string>(_ => Sender.Tell(_events.ToList()));
        }

        public override string PersistenceId { get; }
    }

    private async Task<List<object>> JournalOfAsync(string persistenceId)
    {
        var replay = Sys.ActorOf(Props.Create(() => new Replay(persistenceId)));
        try
        {
            return await replay.Ask<List<object>>("events", Bound);
        }
        finally
        {
            Sys.Stop(replay);
        }
    }

    [Fact]
    public async Task The_grace_periods_end_writes_each_exit_and_delete_once_releases_the_nodes_entries_and_keeps_the_orders_until_fenced()
    {
        await OneNodeCluster.UpAsync(Sys, Bound);
        var owners = new ContainerOwners(Sys, TimeSpan.FromSeconds(3));
        await owners.ClaimAsync("spec", "a", "n2");
        await owners.ClaimAsync("spec", "b", "n2");
        await owners.ClaimAsync("spec", "c", OneNodeCluster.Node);
        var fence = Sys.ActorOf(NodeFence.Props("n2", Grace, owners, "event-bus@n2"));

        var lostAt = DateTimeOffset.UtcNow;
        fence.Tell(new MarkLost("n2", null, lostAt));
        await EventuallyAsync(async () => await owners.OwnerAsync("spec", "a") is null && await owners.OwnerAsync("spec", "b") is null,
            "n2's containers released", Bound);
        Assert.Equal(OneNodeCluster.Node, await owners.OwnerAsync("spec", "c"));
        // Told again after its grace period: nothing more is written (the journal, read below, says).
        fence.Tell(new MarkLost("n2", null, DateTimeOffset.UtcNow));
        fence.Tell(new GiveUp("n2", [new ContainerKey("spec", "a")], lostAt, DateTimeOffset.UtcNow));

        var orders = await fence.Ask<FenceOrders>(new Returning("n2", 42, DateTimeOffset.UtcNow), Bound);
        Assert.Equal([new ContainerKey("spec", "a"), new ContainerKey("spec", "b")], orders.Containers);

        // A fence started again (its warden moved) recovers the same orders.
        await ExpectTerminatedAsync(fence);
        fence = Sys.ActorOf(NodeFence.Props("n2", Grace, owners, "event-bus@n2"));
        Assert.Equal(orders.Containers, (await fence.Ask<FenceOrders>(new Returning("n2", 43, DateTimeOffset.UtcNow), Bound)).Containers);

        await fence.Ask<FenceLifted>(new ReportFenced("n2", 43, DateTimeOffset.UtcNow), Bound);
        Assert.Empty((await fence.Ask<FenceOrders>(new Returning("n2", 43, DateTimeOffset.UtcNow), Bound)).Containers);

        var written = (await JournalOfAsync(NodeFence.PersistenceIdOf("n2"))).OfType<NodeFenceEvent.ContainerGivenUp>()
            .Select(e => (e.Event.ContainerId, e.Event.Topic, e.Event.ExitStatus)).ToList();
        Assert.Equal([("a", Topics.Exit, 255u), ("a", Topics.Delete, 255u), ("b", Topics.Exit, 255u), ("b", Topics.Delete, 255u)], written);
    }

    private async Task ExpectTerminatedAsync(IActorRef actor)
    {
        var probe = CreateTestProbe();
        probe.Watch(actor);
        Sys.Stop(actor);
        await probe.ExpectTerminatedAsync(actor, Bound);
    }
}
