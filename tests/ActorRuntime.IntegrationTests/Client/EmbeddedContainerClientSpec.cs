using ActorRuntime.Client;
using ActorRuntime.Client.Embedded;
using ActorRuntime.IntegrationTests.Runtime;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Shims;
using ActorRuntime.Tasks;
using ActorRuntime.Oci;

namespace ActorRuntime.IntegrationTests.Client;

/// <summary>The client contract in-process: the runtime's actors in this process, the real shim and runc.</summary>
public sealed class EmbeddedContainerClientSpec : ContainerClientContract
{
    private readonly ShimTestEnvironment _env = new();
    private RealRuntime? _rt;

    private string ClientState => Path.Combine(_env.Root, "client");

    protected override IReadOnlyList<MountSpec> Rootfs => [BusyboxImage.BindMount(ShimTestEnvironment.ImageDirectory)];

    protected override string FifoRoot => Path.Combine(ClientState, _env.Namespace);

    protected override async Task StartEnvironmentAsync()
    {
        try
        {
            _rt = await RealRuntime.StartAsync(_env);
        }
        catch
        {
            await _env.DisposeAsync();
            throw;
        }
    }

    protected override async Task StopEnvironmentAsync()
    {
        if (_rt is not null) await _rt.DisposeAsync();
        await _env.DisposeAsync();
    }

    protected override Task<IContainerClient> ConnectAsync() =>
        Task.FromResult<IContainerClient>(_rt!.Runtime.AsClient(ClientState));

    protected override async Task RestartRuntimeAsync()
    {
        await _rt!.DisposeAsync();
        _rt = null;
        _rt = await RealRuntime.StartAsync(_env);
        await _rt.Runtime.AwaitLoadedAsync();
    }

    protected override IReadOnlyList<string> Leftovers() =>
    [
        .. _env.OwnShims().Select(s => $"shim {s.Pid}"),
        .. _env.RuncContainers().Select(c => $"runc {c.Id}"),
        .. Bundle.List(_env.StateDirectory).Select(b => $"bundle {b}"),
    ];
}
