using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Xunit.Abstractions;
using static ActorRuntime.Store.NamespaceStoreProtocol;

namespace ActorRuntime.Tests.Store;

/// <summary>Namespaces: containerd's rules for get/create/update/delete, and survival across a restart of the store.</summary>
public sealed class NamespaceStoreSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(
    """
    akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
    akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
    """, output)
{
    private static readonly Dictionary<string, string> NoLabels = [];

    private static NamespaceStoreState Created(string name, Dictionary<string, string>? labels = null) =>
        NamespaceStoreState.Empty.Apply(Assert.Single(NamespaceStoreState.Empty.Decide(new Create(name, labels ?? NoLabels)).Events));

    /// <summary>A refused command persists nothing; its reply is the failure.</summary>
    private static TaskProtocol.Failed Refusal(Decision<NamespaceStoreEvent> decision)
    {
        Assert.Empty(decision.Events);
        return Assert.IsType<TaskProtocol.Failed>(decision.Reply);
    }

    [Fact]
    public void Get_answers_a_namespace_never_created_with_no_labels_and_stores_nothing()
    {
        var decision = NamespaceStoreState.Empty.Decide(new Get("moby"));
        Assert.Empty(decision.Events);
        var ns = Assert.IsType<NamespaceRecord>(decision.Reply);
        Assert.Equal(("moby", 0), (ns.Name, ns.Labels.Count));
        Assert.Empty(Assert.IsType<Namespaces>(NamespaceStoreState.Empty.Decide(new List()).Reply).Items);
    }

    [Fact]
    public void Create_refuses_a_taken_name_a_bad_name_and_an_oversized_label_with_containerd_codes()
    {
        var state = Created("x", new() { ["a"] = "b" });
        Assert.Equal("b", state.Namespaces["x"].Labels["a"]);

        var taken = Refusal(state.Decide(new Create("x", NoLabels)));
        Assert.Equal((TtrpcCode.AlreadyExists, "namespace \"x\": already exists"), (taken.Code, taken.Message));
        var bad = Refusal(state.Decide(new Create("bad/name", NoLabels)));
        Assert.Equal(TtrpcCode.InvalidArgument, bad.Code);
        Assert.Contains("namespace \"bad/name\" must match", bad.Message);
        Assert.Equal(TtrpcCode.InvalidArgument, Refusal(state.Decide(new Create("", NoLabels))).Code);
        var huge = Refusal(state.Decide(new Create("y", new Dictionary<string, string> { ["k"] = new string('v', NamespaceStoreState.MaxLabelSize) })));
        Assert.Equal(TtrpcCode.InvalidArgument, huge.Code);
        Assert.Contains("maximum size", huge.Message);
    }

    [Fact]
    public void Update_follows_the_field_mask_a_labels_key_path_sets_or_removes_one_label_and_no_path_replaces_them_all()
    {
        var state = Created("x", new() { ["keep"] = "1", ["drop"] = "2", ["change"] = "3" });
        var masked = state.Decide(new Update("x", new Dictionary<string, string> { ["change"] = "30", ["ignored"] = "9" },
            ["labels.change", "labels.drop"]));
        var after = state.Apply(Assert.Single(masked.Events)).Namespaces["x"].Labels;
        Assert.Equal(new Dictionary<string, string> { ["change"] = "30", ["keep"] = "1" }, after);

        var replaced = state.Decide(new Update("x", new Dictionary<string, string> { ["only"] = "1" }, []));
        Assert.Equal(new Dictionary<string, string> { ["only"] = "1" }, state.Apply(Assert.Single(replaced.Events)).Namespaces["x"].Labels);

        var badPath = Refusal(state.Decide(new Update("x", NoLabels, ["name"])));
        Assert.Equal((TtrpcCode.InvalidArgument, "cannot update \"name\" field on namespace \"x\": invalid argument"),
            (badPath.Code, badPath.Message));
        Assert.Equal(TtrpcCode.InvalidArgument, Refusal(state.Decide(new Update("a..b", NoLabels, []))).Code);
    }

    [Fact]
    public void Delete_refuses_an_unknown_namespace_and_one_that_still_has_containers()
    {
        var state = Created("x");
        var unknown = Refusal(state.Decide(new Delete("nope", [])));
        Assert.Equal((TtrpcCode.NotFound, "namespace \"nope\": not found"), (unknown.Code, unknown.Message));
        var busy = Refusal(state.Decide(new Delete("x", ["containers"])));
        Assert.Equal((TtrpcCode.FailedPrecondition, "namespace \"x\" must be empty, but it still has containers: failed precondition"),
            (busy.Code, busy.Message));
        var deleted = state.Decide(new Delete("x", []));
        Assert.Empty(state.Apply(Assert.Single(deleted.Events)).Namespaces);
        Assert.Equal(new Deleted("x"), deleted.Reply);
    }

    [Fact]
    public async Task Namespaces_and_their_labels_survive_a_restart_of_the_store_and_deletes_stick()
    {
        var store = Sys.ActorOf(NamespaceStore.Props());
        await store.Ask<NamespaceRecord>(new Create("x", new Dictionary<string, string> { ["a"] = "1" }));
        await store.Ask<NamespaceRecord>(new Update("x", new Dictionary<string, string> { ["b"] = "2" }, ["labels.b"]));
        await store.Ask<NamespaceRecord>(new Create("gone", NoLabels));
        await store.Ask<Deleted>(new Delete("gone", []));

        Watch(store);
        store.Tell(PoisonPill.Instance);
        await ExpectTerminatedAsync(store);
        var recovered = Sys.ActorOf(NamespaceStore.Props());
        var only = Assert.Single((await recovered.Ask<Namespaces>(new List())).Items);
        Assert.Equal("x", only.Name);
        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" }, only.Labels);
    }
}
