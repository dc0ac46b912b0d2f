using ActorRuntime.Protocol.Api.Leases;
using Grpc.Core;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Daemon;

/// <summary>The leases service: recorded per namespace, durable, containerd's codes; resources are not kept.</summary>
public sealed class LeasesServiceSpec(ITestOutputHelper output) : DaemonServerSpecBase(output)
{
    private Leases.LeasesClient Client => new(Channel);

    [Fact]
    public async Task Create_list_and_delete_answer_with_containerds_codes_and_messages()
    {
        // ctr's shape of id, which containerd's identifier rule would refuse.
        var request = new CreateRequest { Id = "921556121--XfP", Labels = { ["containerd.io/gc.expire"] = "2026-11-28T23:00:00Z" } };
        var created = (await Client.CreateAsync(request, In(Settings.Namespace))).Lease;
        Assert.Equal(request.Id, created.Id);
        Assert.Equal(request.Labels, created.Labels);
        Assert.True(created.CreatedAt.Seconds > 0);

        var taken = await Refused(() => Client.CreateAsync(request, In(Settings.Namespace)).ResponseAsync);
        Assert.Equal((StatusCode.AlreadyExists, "lease \"921556121--XfP\": already exists"), (taken.StatusCode, taken.Status.Detail));

        var generated = (await Client.CreateAsync(new CreateRequest(), In(Settings.Namespace))).Lease;
        Assert.Matches("^[0-9]+-[0-9a-f]{8}$", generated.Id);
        var other = new Metadata { { "containerd-namespace", "other" } };
        Assert.Empty((await Client.ListAsync(new ListRequest(), other)).Leases);
        Assert.Equal(new[] { created.Id, generated.Id }.Order(StringComparer.Ordinal),
            (await Client.ListAsync(new ListRequest(), In(Settings.Namespace))).Leases.Select(l => l.Id).Order(StringComparer.Ordinal));

        await Client.DeleteAsync(new DeleteRequest { Id = created.Id }, In(Settings.Namespace));
        var gone = await Refused(() => Client.DeleteAsync(new DeleteRequest { Id = created.Id }, In(Settings.Namespace)).ResponseAsync);
        Assert.Equal((StatusCode.NotFound, "lease \"921556121--XfP\": not found"), (gone.StatusCode, gone.Status.Detail));
        var unknown = await Refused(() => Client.DeleteAsync(new DeleteRequest { Id = "never" }, other).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Leases_outlive_a_restart_of_the_runtime()
    {
        await Runtime.CreateLeaseAsync("kept", new Dictionary<string, string> { ["a"] = "1" });
        await StopRuntimeAsync();
        var restarted = await StartRuntimeAsync();
        var lease = Assert.Single(await restarted.ListLeasesAsync());
        Assert.Equal(("kept", "1"), (lease.Id, lease.Labels["a"]));
    }

    [Fact]
    public async Task Resources_are_unimplemented_and_a_list_filter_is_refused()
    {
        var add = await Refused(() => Client.AddResourceAsync(new AddResourceRequest { Id = "l" }, In(Settings.Namespace)).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, add.StatusCode);
        var list = await Refused(() => Client.ListResourcesAsync(new ListResourcesRequest { Id = "l" }, In(Settings.Namespace)).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, list.StatusCode);
        var filter = await Refused(() => Client.ListAsync(new ListRequest { Filters = { "id==x" } }, In(Settings.Namespace)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, filter.StatusCode);
        var none = await Refused(() => Client.CreateAsync(new CreateRequest { Id = "x" }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, none.StatusCode);
    }
}
