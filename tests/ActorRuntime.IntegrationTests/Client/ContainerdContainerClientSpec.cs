using ActorRuntime.Client;
using ActorRuntime.Client.Remote;
using ActorRuntime.Testing;

namespace ActorRuntime.IntegrationTests.Client;

/// <summary>
/// The same facts against a private real containerd 1.6 (<see cref="ContainerdDaemon"/>), the reference the remote client
/// is written to; where containerd differs (no event offsets, no resume), the facts assert its side.
/// </summary>
public sealed class ContainerdContainerClientSpec : RemoteContainerClientFacts
{
    private ContainerdDaemon? _containerd;

    public ContainerdContainerClientSpec()
    {
        if (!Environment.IsPrivilegedProcess) throw new InvalidOperationException("integration tests must run as root");
    }

    private ContainerdDaemon Containerd => _containerd ?? throw new InvalidOperationException("containerd is not running");

    protected override string ClientState => Path.Combine(Containerd.Directory, "client");

    protected override string Rootfs => Containerd.Rootfs;

    protected override bool KeepsEventJournal => false;

    protected override async Task<IContainerClient> ConnectAsync()
    {
        _containerd = await ContainerdDaemon.StartAsync();
        return ContainerdContainerClient.Connect(Containerd.Socket, Containerd.Namespace, ClientState);
    }

    protected override void Track(string id) => Containerd.Track(id);

    protected override async Task StopServerAsync()
    {
        if (_containerd is not null) await _containerd.DisposeAsync();
    }
}
