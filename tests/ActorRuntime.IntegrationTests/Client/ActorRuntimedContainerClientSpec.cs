using System.Security.Cryptography;
using ActorRuntime.Client;
using ActorRuntime.Client.Remote;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Native;
using ActorRuntime.Testing;

namespace ActorRuntime.IntegrationTests.Client;

/// <summary>
/// The remote client over the real actorruntimed's socket (containerd's gRPC API), real shims and runc, in a namespace of
/// the test's own. The daemon is SIGTERMed afterwards; no shim of its may be left.
/// </summary>
public sealed class ActorRuntimedContainerClientSpec : RemoteContainerClientFacts
{
    private readonly string _dir = Path.Combine(ShimTestEnvironment.TestRoot, "client-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly string _namespace = "client-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
    private DaemonProcess? _daemon;

    public ActorRuntimedContainerClientSpec()
    {
        if (!Environment.IsPrivilegedProcess) throw new InvalidOperationException("integration tests must run as root");
    }

    protected override string ClientState => Path.Combine(_dir, "client");

    protected override string Rootfs => Path.Combine(_dir, "rootfs");

    protected override bool KeepsEventJournal => true;

    private string Address => Path.Combine(_dir, "actorruntimed.sock");

    protected override async Task<IContainerClient> ConnectAsync()
    {
        Directory.CreateDirectory(_dir);
        Assert.Equal(0, HostProcesses.Run("cp", "-a", ShimTestEnvironment.ImageDirectory, Rootfs).ExitCode);
        _daemon = DaemonProcess.Start(Address, Path.Combine(_dir, "root"), Path.Combine(_dir, "state"));
        await _daemon.WaitServingAsync(Bound);
        return ContainerdContainerClient.Connect(Address, _namespace, ClientState);
    }

    protected override async Task StopServerAsync()
    {
        var shims = OwnShims();
        if (_daemon is not null)
        {
            _daemon.Signal(15);
            try
            {
                await _daemon.WaitExitAsync(Bound);
            }
            finally
            {
                await _daemon.DisposeAsync();
            }
        }
        foreach (var shim in OwnShims()) HostProcesses.Kill(shim.Pid);
        var runcRoot = $"/run/containerd/runc/{_namespace}";
        if (Directory.Exists(runcRoot))
        {
            foreach (var id in Directory.EnumerateDirectories(runcRoot).Select(Path.GetFileName))
                HostProcesses.Run("runc", "--root", runcRoot, "delete", "--force", id!);
            Directory.Delete(runcRoot, recursive: true);
        }
        Cgroups.RemoveNamespace(_namespace);
        MountInfo.UnmountAllUnder(_dir);
        Directory.Delete(_dir, recursive: true);
        Assert.True(shims.Count == 0, "shims left after the containers were deleted: " +
            string.Join("; ", shims.Select(s => $"{s.Pid} {string.Join(' ', s.CommandLine)}")));
    }

    private List<HostProcesses.ProcessEntry> OwnShims() =>
        HostProcesses.All().Where(HostProcesses.IsShim).Where(p => p.Cwd?.StartsWith(_dir + "/", StringComparison.Ordinal) == true).ToList();
}
