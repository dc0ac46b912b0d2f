using System.Collections.Immutable;
using ActorRuntime.Containers;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Containers;

/// <summary>Container metadata: containerd's rules for create/get/update/delete, and survival across a restart.</summary>
public sealed class ContainerRegistrySpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(
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
        var (created, _) = ContainerStoreState.Empty.Decide(new ContainerStoreProtocol.Create(Record("web")), now);
        var state = ContainerStoreState.Empty.Apply(created!);
        var stored = state.Containers["web"];
        Assert.Equal((now, now), (stored.CreatedAt, stored.UpdatedAt));

        Assert.Equal(TtrpcCode.AlreadyExists, state.Decide(new ContainerStoreProtocol.Create(Record("web")), now).Error!.Code);
        Assert.Equal(TtrpcCode.NotFound, state.Decide(new ContainerStoreProtocol.Update("nope"), now).Error!.Code);
        Assert.Equal(TtrpcCode.NotFound, state.Decide(new ContainerStoreProtocol.Delete("nope"), now).Error!.Code);
        Assert.Equal(TtrpcCode.InvalidArgument, state.Decide(new ContainerStoreProtocol.Create(Record("../x")), now).Error!.Code);

        var later = now.AddSeconds(5);
        var (updated, _) = state.Decide(new ContainerStoreProtocol.Update("web", new Dictionary<string, string> { ["tier"] = "front" }), later);
        var after = state.Apply(updated!).Containers["web"];
        Assert.Equal(("front", now, later), (after.Labels["tier"], after.CreatedAt, after.UpdatedAt));
        Assert.Equal(stored.SpecJson, after.SpecJson);
    }

    [Fact]
    public async Task Metadata_survives_a_restart_of_the_registry_and_deletes_stick()
    {
        var registry = Sys.ActorOf(ContainerStore.Props("ns"));
        var web = await registry.Ask<ContainerRecord>(new ContainerStoreProtocol.Create(Record("web", ("app", "shop"))));
        await registry.Ask<ContainerRecord>(new ContainerStoreProtocol.Create(Record("db")));
        await registry.Ask<ContainerStoreProtocol.Deleted>(new ContainerStoreProtocol.Delete("db"));
        var failed = await registry.Ask<TaskProtocol.Failed>(new ContainerStoreProtocol.Create(Record("web")));
        Assert.Equal(TtrpcCode.AlreadyExists, failed.Code);
        var missing = await registry.Ask<TaskProtocol.Failed>(new ContainerStoreProtocol.Get("db"));
        Assert.Equal((TtrpcCode.NotFound, "container \"db\": not found"), (missing.Code, missing.Message));

        Watch(registry);
        registry.Tell(PoisonPill.Instance);
        await ExpectTerminatedAsync(registry);
        var recovered = Sys.ActorOf(ContainerStore.Props("ns"));
        var all = await recovered.Ask<ContainerStoreProtocol.Containers>(new ContainerStoreProtocol.List());
        var only = Assert.Single(all.Items);
        Assert.Equal(web, only);
        Assert.Equal([1, 2, 3], only.RuntimeOptions);
        Assert.Equal("shop", only.Labels["app"]);
    }
}
