using ActorRuntime.Client;
using ActorRuntime.Client.Remote;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Native;
using ActorRuntime.Tasks;
using ActorRuntime.Testing;
using ActorRuntime.Oci;

namespace ActorRuntime.IntegrationTests.Client;

/// <summary>
/// The client contract against a private real containerd 1.6 (<see cref="ContainerdDaemon"/>), the reference the remote
/// client is written to. containerd keeps no event journal, so its events carry no offset and a host cannot resume after
/// one: the contract asserts that side for it (<see cref="ContainerClientContract.ResumesAfterOffset"/>).
/// </summary>
public sealed class ContainerdContainerClientSpec : ContainerClientContract
{
    private ContainerdDaemon? _containerd;

    public ContainerdContainerClientSpec()
    {
        if (!Environment.IsPrivilegedProcess) throw new InvalidOperationException("integration tests must run as root");
    }

    private ContainerdDaemon Containerd => _containerd ?? throw new InvalidOperationException("containerd is not running");

    private string ClientState => Path.Combine(Containerd.Directory, "client");

    private string RuncRoot => $"/run/containerd/runc/{Containerd.Namespace}";

    private string Bundles => Path.Combine(Containerd.Directory, "state", "io.containerd.runtime.v2.task", Containerd.Namespace);

    protected override bool ResumesAfterOffset => false;

    protected override IReadOnlyList<MountSpec> Rootfs => [BusyboxImage.BindMount(ShimTestEnvironment.ImageDirectory)];

    protected override string FifoRoot => Path.Combine(ClientState, Containerd.Namespace);

    protected override async Task StartEnvironmentAsync() => _containerd = await ContainerdDaemon.StartAsync();

    protected override Task<IContainerClient> ConnectAsync() =>
        Task.FromResult<IContainerClient>(ContainerdContainerClient.Connect(Containerd.Socket, Containerd.Namespace, ClientState));

    protected override async Task RestartRuntimeAsync()
    {
        await Containerd.KillAsync();
        await Containerd.SpawnAndWaitAsync();
    }

    protected override string Track(string id) => Containerd.Track(id);

    protected override IReadOnlyList<string> Leftovers() =>
    [
        .. HostProcesses.ShimsUnder(Bundles).Select(s => $"shim {s.Pid}"),
        .. (Directory.Exists(RuncRoot) ? Directory.EnumerateDirectories(RuncRoot) : []).Select(c => $"runc {Path.GetFileName(c)}"),
        .. (Directory.Exists(Bundles) ? Directory.EnumerateDirectories(Bundles) : []).Select(b => $"bundle {b}"),
    ];

    protected override async Task StopEnvironmentAsync()
    {
        if (_containerd is not null) await _containerd.DisposeAsync();
    }
}
