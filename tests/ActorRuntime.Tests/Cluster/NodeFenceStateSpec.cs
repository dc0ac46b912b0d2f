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

    private static NodeFenceState Run(NodeFenceState state, params INodeFenceCommand[] commands) =>
        commands.Aggregate(state, (s, c) => After(s, c, out _));

    private static NodeFenceState Serving(long uid, DateTimeOffset? since = null) =>
        After(NodeFenceState.Empty, new Returning("n2", uid, since ?? T0.AddHours(-1)), out _);

    private static GiveUp GiveUpOf(NodeFenceState lost, DateTimeOffset at, params ContainerKey[] containers) =>
        new("n2", containers, lost.LostAt!.Value, at);

    /// <summary>A lost node whose grace period passed: being given up (its bus fenced next).</summary>
    private static NodeFenceState Giving(NodeFenceState lost) =>
        After(lost, new BeginGiveUp("n2", lost.LostAt!.Value, lost.LostAt.Value.AddMinutes(5)), out _);

    [Fact]
    public void A_node_lost_and_back_within_its_grace_period_is_serving_with_nothing_to_fence_and_cannot_be_given_up_for_that_loss()
    {
        var lost = After(Serving(1), new MarkLost("n2", 1, T0), out _);
        Assert.Equal(NodeFenceState.Standing.Lost, lost.Status);
        Assert.Equal(T0.AddMinutes(5), lost.GraceEndsAt(TimeSpan.FromMinutes(5)));

        var back = After(lost, new Returning("n2", 2, T0.AddMinutes(1)), out var orders);
        Assert.Empty(Assert.IsType<FenceOrders>(orders).Containers);
        Assert.Equal(NodeFenceState.Standing.Serving, back.Status);
        Assert.Null(back.GraceEndsAt(TimeSpan.FromMinutes(5)));
        Assert.Empty(back.Decide(GiveUpOf(lost, T0.AddMinutes(5), A)).Events);
    }

    [Fact]
    public void A_give_up_writes_one_exit_255_and_one_delete_per_container_then_the_standing_and_a_second_give_up_writes_nothing()
    {
        var lost = After(Serving(1), new MarkLost("n2", 1, T0), out _);
        var decision = Giving(lost).Decide(GiveUpOf(lost, T0.AddMinutes(5), B, A, A));
        var events = decision.Events.OfType<NodeFenceEvent.ContainerGivenUp>().Select(e => e.Event).ToList();
        Assert.Equal([("a", Topics.Exit), ("a", Topics.Delete), ("b", Topics.Exit), ("b", Topics.Delete)],
            events.Select(e => (e.ContainerId, e.Topic)));
        Assert.All(events, e => Assert.Equal((255u, T0.AddMinutes(5), ""), (e.ExitStatus, e.ExitedAt!.Value, e.ExecId)));
        Assert.IsType<NodeFenceEvent.GivenUp>(decision.Events[^1]);

        var givenUp = decision.Events.Aggregate(Giving(lost), (s, e) => s.Apply(e));
        Assert.Equal(NodeFenceState.Standing.GivenUp, givenUp.Status);
        Assert.Equal([A, B], givenUp.ToFence);
        Assert.Empty(givenUp.Decide(GiveUpOf(lost, T0.AddMinutes(6), A, B)).Events);
        Assert.Empty(givenUp.Decide(new MarkLost("n2", 1, T0.AddMinutes(6))).Events);
    }

    [Fact]
    public void A_give_up_decided_for_an_earlier_loss_does_not_cut_a_later_loss_short()
    {
        var firstLoss = After(Serving(1), new MarkLost("n2", 1, T0), out _);
        var staleGiveUp = GiveUpOf(firstLoss, T0.AddMinutes(5), A);
        // Read while the node returned and was lost again.
        var lostAgain = Run(firstLoss, new Returning("n2", 2, T0.AddMinutes(5)), new MarkLost("n2", 2, T0.AddMinutes(6)));
        Assert.Empty(Giving(lostAgain).Decide(staleGiveUp).Events);
        Assert.NotEmpty(Giving(lostAgain).Decide(GiveUpOf(lostAgain, T0.AddMinutes(11), A)).Events);
    }

    [Fact]
    public void A_node_given_up_gets_the_same_fence_orders_until_it_reports_fenced_and_serves_with_none_after()
    {
        var lost = After(Serving(1), new MarkLost("n2", 1, T0), out _);
        var givenUp = Run(Giving(lost), GiveUpOf(lost, T0.AddMinutes(5), A));

        // A start that died half-way through its fencing asks again: the same orders, nothing written.
        Assert.Empty(givenUp.Decide(new Returning("n2", 2, T0.AddMinutes(7))).Events);
        Assert.Equal([A], Assert.IsType<FenceOrders>(givenUp.Decide(new Returning("n2", 2, T0.AddMinutes(7))).Reply).Containers);
        Assert.Equal([A], Assert.IsType<FenceOrders>(givenUp.Decide(new Returning("n2", 3, T0.AddMinutes(8))).Reply).Containers);

        var fenced = After(givenUp, new ReportFenced("n2", 3, T0.AddMinutes(8)), out var lifted);
        Assert.Equal(new FenceLifted("n2"), lifted);
        Assert.Equal((NodeFenceState.Standing.Serving, 3L, T0.AddMinutes(8)), (fenced.Status, fenced.ServingUid, fenced.ServingSince));
        Assert.Empty(fenced.ToFence);
        Assert.Empty(Assert.IsType<FenceOrders>(fenced.Decide(new Returning("n2", 3, T0.AddMinutes(9))).Reply).Containers);
        Assert.Empty(fenced.Decide(new ReportFenced("n2", 3, T0.AddMinutes(9))).Events);
    }

    [Fact]
    public void The_loss_of_an_older_incarnation_seen_after_the_new_one_returned_is_not_a_loss()
    {
        // Killed and restarted before the old incarnation was downed: the new one asks first, the old one's removal comes after.
        var serving = Serving(2);
        Assert.Empty(serving.Decide(new MarkLost("n2", 1, T0)).Events);
        Assert.NotEmpty(serving.Decide(new MarkLost("n2", 2, T0)).Events);
        Assert.NotEmpty(NodeFenceState.Empty.Decide(new MarkLost("n2", 7, T0)).Events);
    }

    [Fact]
    public void A_loss_the_warden_inferred_counts_only_if_the_node_went_missing_after_it_last_said_it_serves()
    {
        // A warden that took over saw no incarnation go: it says since when the node is missing.
        var serving = Serving(2, since: T0);
        Assert.NotEmpty(serving.Decide(new MarkLost("n2", null, T0.AddMinutes(1))).Events);
        // Missing since before the node returned (gossip had not shown the new incarnation to the warden yet): old news.
        Assert.Empty(serving.Decide(new MarkLost("n2", null, T0.AddMinutes(-4))).Events);
    }

    [Fact]
    public void A_node_counted_lost_that_the_warden_then_sees_up_with_its_serving_incarnation_is_serving_again()
    {
        var lost = After(Serving(2, since: T0), new MarkLost("n2", null, T0.AddMinutes(1)), out _);
        Assert.Empty(lost.Decide(new SeenUp("n2", 1, T0.AddMinutes(2))).Events); // an older incarnation proves nothing
        var back = After(lost, new SeenUp("n2", 2, T0.AddMinutes(2)), out _);
        Assert.Equal((NodeFenceState.Standing.Serving, 2L), (back.Status, back.ServingUid));
        Assert.Empty(back.Decide(GiveUpOf(lost, T0.AddMinutes(6), A)).Events);
        Assert.Empty(back.Decide(new SeenUp("n2", 2, T0.AddMinutes(3))).Events);
    }

    [Fact]
    public void A_second_loss_after_a_fencing_gives_up_only_what_the_node_had_then()
    {
        var lost = After(Serving(1), new MarkLost("n2", 1, T0), out _);
        var fenced = Run(Giving(lost), GiveUpOf(lost, T0.AddMinutes(5), A), new Returning("n2", 2, T0.AddMinutes(6)),
            new ReportFenced("n2", 2, T0.AddMinutes(6)));
        var lostAgain = After(fenced, new MarkLost("n2", 2, T0.AddHours(1)), out _);
        Assert.Equal([B], Run(Giving(lostAgain), GiveUpOf(lostAgain, T0.AddHours(2), B)).ToFence);
    }

    [Fact]
    public void A_container_whose_exit_the_nodes_bus_delivered_before_its_fence_gets_only_the_delete_repeating_that_exit_and_is_still_fenced()
    {
        var lost = After(Serving(1), new MarkLost("n2", 1, T0), out _);
        var exitedAt = T0.AddMinutes(2);
        var decision = Giving(lost).Decide(new GiveUp("n2", [A, B], lost.LostAt!.Value, T0.AddMinutes(5), [new ExitOnBus(B, 137, exitedAt)]));
        var events = decision.Events.OfType<NodeFenceEvent.ContainerGivenUp>().Select(e => e.Event).ToList();
        Assert.Equal([("a", Topics.Exit, 255u), ("a", Topics.Delete, 255u), ("b", Topics.Delete, 137u)],
            events.Select(e => (e.ContainerId, e.Topic, e.ExitStatus)));
        Assert.Equal(exitedAt, events[^1].ExitedAt);
        Assert.Equal([A, B], decision.Events.Aggregate(Giving(lost), (s, e) => s.Apply(e)).ToFence);
    }

    [Fact]
    public void A_node_returning_while_it_is_being_given_up_waits_unanswered_and_then_gets_its_orders()
    {
        var lost = After(Serving(1), new MarkLost("n2", 1, T0), out _);
        Assert.Empty(lost.Decide(new BeginGiveUp("n2", T0.AddMinutes(-1), T0.AddMinutes(5))).Events); // another loss's
        Assert.Empty(lost.Decide(GiveUpOf(lost, T0.AddMinutes(5), A)).Events); // not begun: nothing is written
        var giving = Giving(lost);
        Assert.Equal(NodeFenceState.Standing.GivingUp, giving.Status);

        // Its bus may already carry the fence's mark: a return now must not make it serve with its exits dropped.
        var asked = giving.Decide(new Returning("n2", 2, T0.AddMinutes(6)));
        Assert.Equal((0, null), (asked.Events.Count, asked.Reply));
        Assert.Empty(giving.Decide(new SeenUp("n2", 1, T0.AddMinutes(6))).Events);
        Assert.Empty(giving.Decide(new MarkLost("n2", 1, T0.AddMinutes(6))).Events);

        var givenUp = Run(giving, GiveUpOf(lost, T0.AddMinutes(6), A));
        Assert.Equal([A], Assert.IsType<FenceOrders>(givenUp.Decide(new Returning("n2", 2, T0.AddMinutes(7))).Reply).Containers);
    }
}
