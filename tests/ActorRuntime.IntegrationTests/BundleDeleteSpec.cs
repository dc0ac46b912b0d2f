using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Native;
using ActorRuntime.Shims;
using ActorRuntime.Oci;
using ActorRuntime.Testing;

namespace ActorRuntime.IntegrationTests;

/// <summary>Bundle.Delete with rootfs still mounted (a shim killed before it could unmount).</summary>
public sealed class BundleDeleteSpec
{
    [Fact]
    public async Task Delete_unmounts_a_left_over_rootfs_bind_before_removing_and_never_touches_the_image()
    {
        await using var env = new ShimTestEnvironment();
        var bundle = env.CreateBundle("c1");
        var image = ShimTestEnvironment.ImageDirectory;
        // Writable on purpose: a recursive delete through this mount would destroy the image.
        Mount("--rbind", image, bundle.RootfsPath);
        Mount("-t", "tmpfs", "tmpfs", Path.Combine(bundle.RootfsPath, "tmp")); // a submount too
        Assert.Equal(2, MountInfo.MountPointsUnder(bundle.Path).Count);

        bundle.Delete();
        bundle.Delete();

        Assert.False(Directory.Exists(bundle.Path));
        Assert.Empty(MountInfo.MountPointsUnder(env.StateDirectory));
        Assert.True(File.Exists(Path.Combine(image, "bin", "busybox")));
        Assert.True(File.Exists(Path.Combine(image, "bin", "sh")));
        Assert.True(Directory.Exists(Path.Combine(image, "tmp")));
        await LeakCheck.AssertCleanAsync(env);
    }

    [Fact]
    public async Task The_busybox_image_is_built_once_even_by_concurrent_callers()
    {
        await using var env = new ShimTestEnvironment();
        var image = Path.Combine(env.Root, "image");

        var paths = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => BusyboxImage.Ensure(image))));

        Assert.All(paths, p => Assert.Equal(image, p));
        Assert.Equal(["image"], Directory.EnumerateFileSystemEntries(env.Root)
            .Select(Path.GetFileName).Where(n => n!.Contains("image")));
        Assert.Equal("busybox", new FileInfo(Path.Combine(image, "bin", "sh")).LinkTarget);
        Assert.Equal(new FileInfo("/bin/busybox").Length, new FileInfo(Path.Combine(image, "bin", "busybox")).Length);
        var (exitCode, output) = HostProcesses.Run(Path.Combine(image, "bin", "echo"), "works");
        Assert.Equal((0, "works\n"), (exitCode, output));
        foreach (var dir in new[] { "proc", "dev", "sys", "tmp", "etc" })
            Assert.True(Directory.Exists(Path.Combine(image, dir)), dir);
        var mount = BusyboxImage.BindMount(image);
        Assert.Equal(("bind", image), (mount.Type, mount.Source));
        Assert.Equal(["rbind", "ro"], mount.Options);
        await LeakCheck.AssertCleanAsync(env);
    }

    private static void Mount(params string[] arguments)
    {
        var (exitCode, output) = HostProcesses.Run("mount", arguments);
        Assert.True(exitCode == 0, $"mount {string.Join(' ', arguments)}: {output}");
    }
}
