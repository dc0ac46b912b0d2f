using ActorRuntime.Testing;

namespace ActorRuntime.IntegrationTests.Daemon;

/// <summary>
/// The DockerDaemon harness on the real containerd 1.6.20 (started here on directories of its own): the real dockerd
/// runs the imported busybox image, and disposal leaves nothing of it behind, also when dockerd was killed and could not
/// clean up itself. The dockerd-on-actorruntimed specs use the same harness.
/// </summary>
public sealed class DockerOnContainerdSpec : IAsyncLifetime
{
    private ContainerdDaemon? _containerd;

    private ContainerdDaemon Containerd => _containerd ?? throw new InvalidOperationException("containerd did not start");

    public async Task InitializeAsync()
    {
        if (!Environment.IsPrivilegedProcess) throw new InvalidOperationException("integration tests must run as root");
        _containerd = await ContainerdDaemon.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_containerd is not null) await _containerd.DisposeAsync();
    }

    [Fact]
    public async Task Docker_run_on_the_real_containerd_prints_hi_and_disposal_leaves_no_dockerd_container_shim_mount_or_file()
    {
        DockerDaemon.Footprint before;
        await using (var docker = await DockerDaemon.StartAsync(Containerd.Socket))
        {
            var hi = await docker.RunAsync("run", "--rm", DockerDaemon.Image, "echo", "hi");
            Assert.True(hi.Code == 0, hi.ToString());
            Assert.Equal("hi\n", hi.Stdout);

            // Left running for disposal to remove, with its network namespace mounted under the exec root.
            var id = (await docker.OkAsync("run", "-d", DockerDaemon.Image, "sleep", "1000")).Trim();
            Assert.Contains(id, await MobyContainersAsync());
            before = docker.Inventory();
            Assert.Single(before.Shims);
            Assert.NotEmpty(before.Mounts);
        }
        await AssertGoneAsync(before);
        Assert.Equal("", await MobyContainersAsync());
    }

    [Fact]
    public async Task Disposal_after_dockerd_was_killed_removes_its_running_container_shim_mounts_cgroups_and_directory()
    {
        DockerDaemon.Footprint before;
        await using (var docker = await DockerDaemon.StartAsync(Containerd.Socket))
        {
            await docker.OkAsync("run", "-d", DockerDaemon.Image, "sleep", "1000");
            before = docker.Inventory();
            Assert.Single(before.Shims);
            Assert.NotEmpty(before.Cgroups);
            HostProcesses.Kill(docker.Pid);
            await HostProcesses.WaitUntilGoneAsync(docker.Pid, TimeSpan.FromSeconds(10));
        }
        await AssertGoneAsync(before);
    }

    private Task<string> MobyContainersAsync() =>
        Shell.CheckAsync("ctr", "-a", Containerd.Socket, "-n", DockerDaemon.Namespace, "containers", "ls", "-q");

    private static async Task AssertGoneAsync(DockerDaemon.Footprint before)
    {
        Assert.False(HostProcesses.IsAlive(before.DockerdPid), "dockerd still runs");
        // A shim whose task was deleted exits on its own a moment later.
        await EventuallyAsync(() => !before.Shims.Any(HostProcesses.IsAlive), "the container's shim to exit", TimeSpan.FromSeconds(10));
        var left = DockerDaemon.Footprint.Of(before.DockerdPid, before.Directory, before.CgroupParent, before.Shims);
        Assert.True(left.Mounts.Count == 0, "mounts left: " + string.Join(", ", left.Mounts));
        Assert.True(left.Cgroups.Count == 0, "cgroups left: " + string.Join(", ", left.Cgroups));
        Assert.False(Directory.Exists(before.Directory), $"{before.Directory} is still there");
    }
}
