using System.Collections.Immutable;
using ActorRuntime.Containers;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Store;

/// <summary>Container metadata: containerd's rules for create/get/update/delete, and survival across a restart.</summary>
public sealed class ContainerStoreSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(
    """
    akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
    akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
    """, output)
{
    private static ContainerRecord Record(string id, params (string Key, string Value)[] labels) =>
        new("ns", id, """{"ociVersion":"1.0.2"}""", ContainerRecord.DefaultRuntime, [1, 2, 3],
            labels.ToImmutableSortedDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal), "busybox", default, default);

    [Fact]
    public void Decide_refuses_duplicates_unknown_ids_and_bad_ids_with_containerd_codes()
    {
        var now = DateTimeOffset.UtcNow;
        var created = ContainerStoreState.Empty.Decide(new ContainerStoreProtocol.Create(Record("web")), now);
        var state = ContainerStoreState.Empty.Apply(Assert.Single(created.Events));
        var stored = state.Containers[new("ns", "web")];
        Assert.Equal((now, now), (stored.CreatedAt, stored.UpdatedAt));
        Assert.Equal(stored, created.Reply);

        Assert.Equal(TtrpcCode.AlreadyExists, Refusal(state.Decide(new ContainerStoreProtocol.Create(Record("web")), now)).Code);
        Assert.Equal(TtrpcCode.NotFound, Refusal(state.Decide(new ContainerStoreProtocol.Update("ns", "nope"), now)).Code);
        Assert.Equal(TtrpcCode.NotFound, Refusal(state.Decide(new ContainerStoreProtocol.Delete("ns", "nope"), now)).Code);
        Assert.Equal(TtrpcCode.InvalidArgument, Refusal(state.Decide(new ContainerStoreProtocol.Create(Record("../x")), now)).Code);

        var later = now.AddSeconds(5);
        var updated = state.Decide(new ContainerStoreProtocol.Update("ns", "web", new Dictionary<string, string> { ["tier"] = "front" }), later);
        var after = state.Apply(Assert.Single(updated.Events)).Containers[new("ns", "web")];
        Assert.Equal(("front", now, later), (after.Labels["tier"], after.CreatedAt, after.UpdatedAt));
        Assert.Equal(stored.SpecJson, after.SpecJson);
    }

    [Fact]
    public void Update_with_a_field_mask_sets_or_removes_single_labels_replaces_the_spec_and_refuses_other_fields()
    {
        var now = DateTimeOffset.UtcNow;
        var state = ContainerStoreState.Empty.Apply(Assert.Single(
            ContainerStoreState.Empty.Decide(new ContainerStoreProtocol.Create(Record("web", ("a", "1"), ("b", "2"))), now).Events));
        ContainerRecord Updated(ContainerStoreProtocol.Update update) => Assert.IsType<ContainerRecord>(state.Decide(update, now).Reply);

        // As containerd: a key the mask names but the request leaves out, or sends empty, is removed.
        var masked = Updated(new("ns", "web", new Dictionary<string, string> { ["c"] = "3", ["b"] = "", ["a"] = "x" }, null,
            ["labels.b", "labels.c"]));
        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["c"] = "3" }, masked.Labels);
        var spec = Updated(new("ns", "web", null, """{"hostname":"h"}""", ["spec"]));
        Assert.Equal(("""{"hostname":"h"}""", 2), (spec.SpecJson, spec.Labels.Count));
        var whole = Updated(new("ns", "web", new Dictionary<string, string>(), """{"hostname":"h"}""", []));
        Assert.Empty(whole.Labels);

        var image = Refusal(state.Decide(new ContainerStoreProtocol.Update("ns", "web", null, null, ["image"]), now));
        Assert.Equal((TtrpcCode.InvalidArgument, "cannot update \"image\" field on \"web\": invalid argument"), (image.Code, image.Message));
        Assert.Equal(TtrpcCode.InvalidArgument, Refusal(state.Decide(new ContainerStoreProtocol.Update("ns", "web", null, null, ["spec"]), now)).Code);
        Assert.Equal(TtrpcCode.InvalidArgument, Refusal(state.Decide(
            new ContainerStoreProtocol.Update("ns", "web", new Dictionary<string, string> { [""] = "v" }, null, ["labels"]), now)).Code);
    }

    [Fact]
    public void The_same_id_in_two_namespaces_is_two_containers_and_each_namespace_sees_only_its_own()
    {
        var now = DateTimeOffset.UtcNow;
        var state = ContainerStoreState.Empty;
        foreach (var record in new[] { Record("web"), Record("web") with { Namespace = "other", Image = "nginx" } })
            state = state.Apply(Assert.Single(state.Decide(new ContainerStoreProtocol.Create(record), now).Events));

        var inOther = Assert.IsType<ContainerStoreProtocol.Containers>(state.Decide(new ContainerStoreProtocol.List("other"), now).Reply);
        Assert.Equal("nginx", Assert.Single(inOther.Items).Image);
        Assert.Equal("busybox", Assert.IsType<ContainerRecord>(state.Decide(new ContainerStoreProtocol.Get("ns", "web"), now).Reply).Image);
        state = state.Apply(Assert.Single(state.Decide(new ContainerStoreProtocol.Delete("other", "web"), now).Events));
        Assert.Equal(TtrpcCode.NotFound, Refusal(state.Decide(new ContainerStoreProtocol.Get("other", "web"), now)).Code);
        Assert.Equal("busybox", Assert.IsType<ContainerRecord>(state.Decide(new ContainerStoreProtocol.Get("ns", "web"), now).Reply).Image);
        Assert.Equal(TtrpcCode.InvalidArgument, Refusal(state.Decide(new ContainerStoreProtocol.List("../x"), now)).Code);
    }

    /// <summary>A refused command persists nothing; its reply is the failure.</summary>
    private static TaskProtocol.Failed Refusal(Decision<ContainerStoreEvent> decision)
    {
        Assert.Empty(decision.Events);
        return Assert.IsType<TaskProtocol.Failed>(decision.Reply);
    }

    [Fact]
    public async Task Metadata_survives_a_restart_of_the_store_and_deletes_stick()
    {
        var store = Sys.ActorOf(ContainerStore.Props("ns"));
        var web = await store.Ask<ContainerRecord>(new ContainerStoreProtocol.Create(Record("web", ("app", "shop"))));
        await store.Ask<ContainerRecord>(new ContainerStoreProtocol.Create(Record("db")));
        await store.Ask<ContainerStoreProtocol.Deleted>(new ContainerStoreProtocol.Delete("ns", "db"));
        var failed = await store.Ask<TaskProtocol.Failed>(new ContainerStoreProtocol.Create(Record("web")));
        Assert.Equal(TtrpcCode.AlreadyExists, failed.Code);
        var missing = await store.Ask<TaskProtocol.Failed>(new ContainerStoreProtocol.Get("ns", "db"));
        Assert.Equal((TtrpcCode.NotFound, "container \"db\" in namespace \"ns\": not found"), (missing.Code, missing.Message));

        Watch(store);
        store.Tell(PoisonPill.Instance);
        await ExpectTerminatedAsync(store);
        var recovered = Sys.ActorOf(ContainerStore.Props("ns"));
        var all = await recovered.Ask<ContainerStoreProtocol.Containers>(new ContainerStoreProtocol.List("ns"));
        var only = Assert.Single(all.Items);
        Assert.Equal(web, only);
        Assert.Equal([1, 2, 3], only.RuntimeOptions);
        Assert.Equal("shop", only.Labels["app"]);
    }
}
