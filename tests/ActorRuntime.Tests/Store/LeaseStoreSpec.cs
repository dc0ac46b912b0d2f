using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using static ActorRuntime.Store.LeaseStoreProtocol;

namespace ActorRuntime.Tests.Store;

/// <summary>Leases: containerd's rules for create/list/delete, kept apart per namespace.</summary>
public sealed class LeaseStoreSpec
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UnixEpoch.AddDays(20_000);
    private static readonly Dictionary<string, string> NoLabels = [];

    private static TaskProtocol.Failed Refusal(Decision<LeaseStoreEvent> decision)
    {
        Assert.Empty(decision.Events);
        return Assert.IsType<TaskProtocol.Failed>(decision.Reply);
    }

    private static LeaseStoreState Apply(LeaseStoreState state, ILeaseStoreCommand command) =>
        state.Apply(Assert.Single(state.Decide(command, Now).Events));

    [Fact]
    public void Create_stamps_the_lease_and_refuses_a_taken_id_in_the_same_namespace_only()
    {
        var decision = LeaseStoreState.Empty.Decide(new Create("ns", "l1", new Dictionary<string, string> { ["k"] = "v" }), Now);
        var lease = Assert.IsType<LeaseRecord>(decision.Reply);
        Assert.Equal(("l1", "v", Now), (lease.Id, lease.Labels["k"], lease.CreatedAt));
        var state = LeaseStoreState.Empty.Apply(Assert.Single(decision.Events));

        var taken = Refusal(state.Decide(new Create("ns", "l1", NoLabels), Now));
        Assert.Equal((TtrpcCode.AlreadyExists, "lease \"l1\": already exists"), (taken.Code, taken.Message));
        state = Apply(state, new Create("other", "l1", NoLabels));
        Assert.Equal(["l1"], Assert.IsType<Leases>(state.Decide(new List("ns"), Now).Reply).Items.Select(l => l.Id));
        Assert.Equal(2, state.Leases.Count);
    }

    [Fact]
    public void Delete_of_an_unknown_lease_is_NotFound_and_a_deleted_lease_is_gone_from_its_namespace()
    {
        var state = Apply(LeaseStoreState.Empty, new Create("ns", "l1", NoLabels));
        var unknown = Refusal(state.Decide(new Delete("ns", "l2"), Now));
        Assert.Equal((TtrpcCode.NotFound, "lease \"l2\": not found"), (unknown.Code, unknown.Message));
        Assert.Equal(TtrpcCode.NotFound, Refusal(state.Decide(new Delete("other", "l1"), Now)).Code);

        state = Apply(state, new Delete("ns", "l1"));
        Assert.Empty(Assert.IsType<Leases>(state.Decide(new List("ns"), Now).Reply).Items);
    }

    [Fact]
    public void An_empty_id_a_bad_namespace_or_a_bad_label_is_InvalidArgument_but_ids_are_not_held_to_the_identifier_rule()
    {
        Assert.Equal(TtrpcCode.InvalidArgument, Refusal(LeaseStoreState.Empty.Decide(new Create("ns", "", NoLabels), Now)).Code);
        Assert.Equal(TtrpcCode.InvalidArgument, Refusal(LeaseStoreState.Empty.Decide(new Delete("ns", null!), Now)).Code);
        Assert.Equal(TtrpcCode.InvalidArgument, Refusal(LeaseStoreState.Empty.Decide(new Create("../ns", "l1", NoLabels), Now)).Code);
        Assert.Equal(TtrpcCode.InvalidArgument, Refusal(LeaseStoreState.Empty.Decide(new List("a/b"), Now)).Code);
        var label = Refusal(LeaseStoreState.Empty.Decide(new Create("ns", "l1", new Dictionary<string, string> { [""] = "v" }), Now));
        Assert.Equal(TtrpcCode.InvalidArgument, label.Code);
        // ctr's generated ids (<nanoseconds>-<base64url>) can hold "--" or "_": containerd takes them, so do we.
        Assert.IsType<LeaseRecord>(LeaseStoreState.Empty.Decide(new Create("ns", "921556121--XfP", NoLabels), Now).Reply);
    }
}
