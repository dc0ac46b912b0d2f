using ActorRuntime.Cluster;
using ActorRuntime.Containers;
using ActorRuntime.Events;
using static ActorRuntime.Cluster.NodeFenceProtocol;

namespace ActorRuntime.Tests.Cluster;

/// <summary>
/// A node's standing across losses and returns: the decisions that make a lost node's containers end exactly once,
/// either by the node's own return (nothing given up) or by the cluster's give-up (then fenced on return).
/// </summary>
public sealed class NodeFenceStateSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private static readonly ContainerKey A = new("ns", "a");
    private static readonly ContainerKey B = new("ns", "b");

    private static NodeFenceState After(NodeFenceState state, INodeFenceCommand command, out object? reply)
    {
        var decision = state.Decide(command);
        reply = decision.Reply;
        return decision.Events.Aggregate(state, (s, e) => s.Apply(e));
    }

    private static NodeFenceState Serving(long uid) => After(NodeFenceState.Empty, new Returning("n2", uid), out _);

    [Fact]
    public void A_node_lost_and_back_within_its_grace_period_is_serving_with_nothing_to_fence_and_cannot_be_given_up_for_that_loss()
    {
        var lost = After(Serving(1), new MarkLost("n2", 1, T0), out _);
        Assert.Equal(NodeFenceState.Standing.Lost, lost.Status);
        Assert.Equal(T0.AddMinutes(5), lost.GraceEndsAt(TimeSpan.FromMinutes(5)));

        var back = After(lost, new Returning("n2", 2), out var orders);
        Assert.Empty(Assert.IsType<FenceOrders>(orders).Containers);
        Assert.Equal(NodeFenceState.Standing.Serving, back.Status);
        Assert.Null(back.GraceEndsAt(TimeSpan.FromMinutes(5)));

        var decision = back.Decide(new GiveUp("n2", [A], T0.AddMinutes(5)));
        Assert.Empty(decision.Events);
        Assert.Empty(Assert.IsType<GaveUp>(decision.Reply).Containers);
    }

    [Fact]
    public void A_give_up_writes_one_exit_255_and_one_delete_per_container_then_the_standing_and_a_second_give_up_writes_nothing()
    {
        var lost = After(Serving(1), new MarkLost("n2", 1, T0), out _);
        var decision = lost.Decide(new GiveUp("n2", [B, A, A], T0.AddMinutes(5)));
        var events = decision.Events.OfType<NodeFenceEvent.ContainerGivenUp>().Select(e => e.Event).ToList();
        Assert.Equal([("a", Topics.Exit), ("a", Topics.Delete), ("b", Topics.Exit), ("b", Topics.Delete)],
            events.Select(e => (e.ContainerId, e.Topic)));
        Assert.All(events, e => Assert.Equal((255u, T0.AddMinutes(5), ""), (e.ExitStatus, e.ExitedAt!.Value, e.ExecId)));
        Assert.IsType<NodeFenceEvent.GivenUp>(decision.Events[^1]);

        var givenUp = decision.Events.Aggregate(lost, (s, e) => s.Apply(e));
        Assert.Equal(NodeFenceState.Standing.GivenUp, givenUp.Status);
        Assert.Equal([A, B], givenUp.ToFence);
        Assert.Empty(givenUp.Decide(new GiveUp("n2", [A, B], T0.AddMinutes(6))).Events);
        Assert.Empty(givenUp.Decide(new MarkLost("n2", 1, T0.AddMinutes(6))).Events);
    }

    [Fact]
    public void A_node_given_up_gets_the_same_fence_orders_until_it_reports_fenced_and_serves_with_none_after()
    {
        var givenUp = new[] { (INodeFenceCommand)new MarkLost("n2", 1, T0), new GiveUp("n2", [A], T0.AddMinutes(5)) }
            .Aggregate(Serving(1), (s, c) => After(s, c, out _));

        // A start that died half-way through its fencing asks again: the same orders, nothing written.
        Assert.Empty(givenUp.Decide(new Returning("n2", 2)).Events);
        Assert.Equal([A], Assert.IsType<FenceOrders>(givenUp.Decide(new Returning("n2", 2)).Reply).Containers);
        Assert.Equal([A], Assert.IsType<FenceOrders>(givenUp.Decide(new Returning("n2", 3)).Reply).Containers);

        var fenced = After(givenUp, new ReportFenced("n2", 3), out var lifted);
        Assert.Equal(new FenceLifted("n2"), lifted);
        Assert.Equal((NodeFenceState.Standing.Serving, 3L), (fenced.Status, fenced.ServingUid));
        Assert.Empty(fenced.ToFence);
        Assert.Empty(Assert.IsType<FenceOrders>(fenced.Decide(new Returning("n2", 3)).Reply).Containers);
        Assert.Empty(fenced.Decide(new ReportFenced("n2", 3)).Events);
    }

    [Fact]
    public void The_loss_of_an_older_incarnation_seen_after_the_new_one_returned_is_not_a_loss()
    {
        // Killed and restarted before the old incarnation was downed: the new one asks first, the old one's removal comes after.
        var serving = Serving(2);
        Assert.Empty(serving.Decide(new MarkLost("n2", 1, T0)).Events);
        Assert.NotEmpty(serving.Decide(new MarkLost("n2", 2, T0)).Events);
        // A warden that took over saw no incarnation go; a node that never asked has none on record either.
        Assert.NotEmpty(serving.Decide(new MarkLost("n2", null, T0)).Events);
        Assert.NotEmpty(NodeFenceState.Empty.Decide(new MarkLost("n2", 7, T0)).Events);
    }

    [Fact]
    public void A_second_loss_after_a_fencing_gives_up_only_what_the_node_had_then()
    {
        var once = new INodeFenceCommand[]
        {
            new MarkLost("n2", 1, T0), new GiveUp("n2", [A], T0.AddMinutes(5)), new Returning("n2", 2), new ReportFenced("n2", 2),
            new MarkLost("n2", 2, T0.AddHours(1)), new GiveUp("n2", [B], T0.AddHours(2)),
        }.Aggregate(Serving(1), (s, c) => After(s, c, out _));
        Assert.Equal([B], once.ToFence);
    }
}
