using System.Security.Cryptography;
using ActorRuntime.Client;
using ActorRuntime.Client.Remote;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Native;
using ActorRuntime.Shims;
using ActorRuntime.Tasks;
using ActorRuntime.Testing;
using ActorRuntime.Oci;

namespace ActorRuntime.IntegrationTests.Client;

/// <summary>
/// The client contract over the real actorruntimed's socket (containerd's gRPC API), real shims and runc, in a namespace
/// of the spec's own. The daemon is SIGTERMed afterwards; anything of its left is removed and reported.
/// </summary>
public sealed class ActorRuntimedContainerClientSpec : ContainerClientContract
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly string _dir = Path.Combine(ShimTestEnvironment.TestRoot, "client-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly string _namespace = "client-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
    private DaemonProcess? _daemon;

    public ActorRuntimedContainerClientSpec()
    {
        if (!Environment.IsPrivilegedProcess) throw new InvalidOperationException("integration tests must run as root");
    }

    private string Address => Path.Combine(_dir, "actorruntimed.sock");

    private string State => Path.Combine(_dir, "state");

    private string ClientState => Path.Combine(_dir, "client");

    private string RuncRoot => $"/run/containerd/runc/{_namespace}";

    protected override IReadOnlyList<MountSpec> Rootfs => [BusyboxImage.BindMount(ShimTestEnvironment.ImageDirectory)];

    protected override string FifoRoot => Path.Combine(ClientState, _namespace);

    protected override async Task StartEnvironmentAsync()
    {
        Directory.CreateDirectory(_dir);
        await StartDaemonAsync();
    }

    private async Task StartDaemonAsync()
    {
        _daemon = DaemonProcess.Start(Address, Path.Combine(_dir, "root"), State);
        await _daemon.WaitServingAsync(Bound);
    }

    private async Task StopDaemonAsync()
    {
        if (_daemon is null) return;
        var daemon = _daemon;
        _daemon = null;
        Assert.Equal(0, await daemon.StopAsync(Bound));
    }

    protected override Task<IContainerClient> ConnectAsync() =>
        Task.FromResult<IContainerClient>(ContainerdContainerClient.Connect(Address, _namespace, ClientState));

    protected override async Task RestartRuntimeAsync()
    {
        await StopDaemonAsync();
        await StartDaemonAsync();
    }

    protected override IReadOnlyList<string> Leftovers() =>
    [
        .. HostProcesses.ShimsUnder(_dir).Select(s => $"shim {s.Pid}"),
        .. (Directory.Exists(RuncRoot) ? Directory.EnumerateDirectories(RuncRoot) : []).Select(c => $"runc {Path.GetFileName(c)}"),
        .. Bundle.List(State).Select(b => $"bundle {b}"),
    ];

    protected override async Task StopEnvironmentAsync()
    {
        var left = Leftovers();
        await StopDaemonAsync();
        foreach (var shim in HostProcesses.ShimsUnder(_dir)) HostProcesses.Kill(shim.Pid);
        RuncNamespace.Remove(_namespace, Directory.Exists(RuncRoot) ? Directory.EnumerateDirectories(RuncRoot).Select(Path.GetFileName).OfType<string>().ToList() : []);
        MountInfo.UnmountAllUnder(_dir);
        Directory.Delete(_dir, recursive: true);
        Assert.True(left.Count == 0, "left after the specs' containers were deleted: " + string.Join(", ", left));
    }
}
