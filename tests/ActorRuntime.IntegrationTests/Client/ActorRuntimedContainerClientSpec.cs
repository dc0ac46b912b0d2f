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

    /// <summary>
    /// actorruntimed's own promise, which containerd does not make (its events are gone once published): a host that
    /// recorded the last offset it handled, went away, and came back after the daemon restarted gets what happened in
    /// between, each event once, and nothing it had already handled.
    /// </summary>
    [Fact]
    public async Task A_host_resuming_after_its_last_offset_across_a_daemon_restart_misses_nothing_and_gets_nothing_twice()
    {
        var before = Id("before");
        var handled = new Recorder();
        await using (await Client.SubscribeAsync(handled))
        {
            await Client.CreateAsync(Container(before, "/bin/true"));
            await Client.StartAsync(before, new StartOptions());
            await Client.WaitAsync(before, null).WaitAsync(Bound);
            await EventuallyAsync(() => handled.Received.Any(e => e.ContainerId == before && e.Kind == ContainerEventKind.Exit), "the exit", Bound);
        }
        var last = handled.Received.Max(e => e.Offset);

        // While the host is away: one task deleted, another run to its end; then the daemon restarts.
        var during = Id("during");
        await Client.DeleteTaskAsync(before);
        await Client.CreateAsync(Container(during, "/bin/sh", "-c", "exit 5"));
        await Client.StartAsync(during, new StartOptions());
        await Client.WaitAsync(during, null).WaitAsync(Bound);
        _daemon!.Signal(15);
        Assert.Equal(0, await _daemon.WaitExitAsync(Bound));
        await _daemon.DisposeAsync();
        _daemon = DaemonProcess.Start(Address, Path.Combine(_dir, "root"), Path.Combine(_dir, "state"));
        await _daemon.WaitServingAsync(Bound);

        var resumed = new Recorder();
        await using (await Client.SubscribeAsync(resumed, afterOffset: last))
            await EventuallyAsync(() => resumed.Received.Any(e => e.ContainerId == during && e.Kind == ContainerEventKind.Exit), "the replay", Bound);
        // Containers run in parallel, so only each container's own events arrive in offset order.
        var received = resumed.Received.ToList();
        Assert.Equal(received.Where(e => e.ContainerId == during).OrderBy(e => e.Offset), received.Where(e => e.ContainerId == during));
        var got = received.OrderBy(e => e.Offset).Select(e => (e.ContainerId, e.Kind)).ToList();
        Assert.Equal([(before, ContainerEventKind.Delete), (during, ContainerEventKind.Create), (during, ContainerEventKind.Start),
            (during, ContainerEventKind.Exit)], got);
        Assert.Equal(5u, received.Single(e => e.Kind == ContainerEventKind.Exit).ExitStatus);
        Assert.All(received, e => Assert.True(e.Offset > last));
    }

    private List<HostProcesses.ProcessEntry> OwnShims() =>
        HostProcesses.All().Where(HostProcesses.IsShim).Where(p => p.Cwd?.StartsWith(_dir + "/", StringComparison.Ordinal) == true).ToList();
}
