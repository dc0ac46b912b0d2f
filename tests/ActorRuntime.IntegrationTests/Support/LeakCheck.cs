using ActorRuntime.Native;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;

namespace ActorRuntime.IntegrationTests.Support;

/// <summary>
/// What must be true after a test that cleaned up properly: no shim of this environment is running, runc knows no
/// container and left no container cgroup, nothing is mounted under the environment, no bundle (or half-deleted bundle) is left and no shim socket
/// file of this environment remains. Every integration test ends with <see cref="AssertCleanAsync"/>.
/// </summary>
public static class LeakCheck
{
    public static async Task AssertCleanAsync(ShimTestEnvironment env)
    {
        // A shim that was just shut down or killed takes a moment to exit and be reaped by init.
        await EventuallyAsync(() => env.OwnShims().Count == 0, "the environment's shims to exit", TimeSpan.FromSeconds(10),
            () => "shim processes left: " + string.Join("; ",
                env.OwnShims().Select(s => $"{s.Pid} cwd={s.Cwd} {string.Join(' ', s.CommandLine)}")));

        var containers = env.RuncContainers();
        Assert.True(containers.Count == 0, "runc containers left: " + string.Join(", ", containers));

        var cgroups = env.NamespaceCgroups().SelectMany(Directory.EnumerateDirectories).ToList();
        Assert.True(cgroups.Count == 0, "container cgroups left: " + string.Join(", ", cgroups));

        var mounts = MountInfo.MountPointsUnder(env.Root);
        Assert.True(mounts.Count == 0, "mounts left: " + string.Join(", ", mounts));

        Assert.Empty(Bundle.List(env.StateDirectory));
        var leftovers = Directory.Exists(env.StateDirectory)
            ? Directory.EnumerateDirectories(env.StateDirectory).SelectMany(Directory.EnumerateFileSystemEntries).ToList()
            : [];
        Assert.True(leftovers.Count == 0, "bundle directories left: " + string.Join(", ", leftovers));

        var sockets = env.Addresses.Select(UnixSocket.PathOf).Where(File.Exists).ToList();
        Assert.True(sockets.Count == 0, "shim sockets left: " + string.Join(", ", sockets));
    }
}
