using System.Runtime.Versioning;
using ActorRuntime.Native;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;

namespace ActorRuntime.Tests;

[SupportedOSPlatform("linux")]
public sealed class BundleSpec : IDisposable
{
    private const string Spec = """{"ociVersion":"1.0.2"}""";
    private readonly string _state = Path.Combine(Path.GetTempPath(), "bundlespec-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_state)) Directory.Delete(_state, recursive: true);
    }

    [Fact]
    public void Create_lays_out_the_bundle_like_containerd()
    {
        var bundle = Bundle.Create(_state, "ns1", "c1", Spec);

        Assert.Equal(Path.Combine(_state, "ns1", "c1"), bundle.Path);
        Assert.Equal("c1", Path.GetFileName(bundle.Path)); // the shim finds its files as dirname(cwd)/<id>
        Assert.Equal(Spec, File.ReadAllText(bundle.ConfigPath));
        Assert.True(Directory.Exists(bundle.RootfsPath));
        Assert.Empty(Directory.EnumerateFileSystemEntries(bundle.RootfsPath));
        Assert.True(ShimLogPipe.IsFifo(bundle.LogFifoPath));
        Assert.False(ShimLogPipe.IsFifo(bundle.ConfigPath));
        Assert.Equal(Libc.S_IFIFO, Libc.FileTypeOf(bundle.LogFifoPath));
        Assert.Equal(Path.Combine(bundle.Path, "address"), bundle.AddressPath);
        Assert.Equal(
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute |
            UnixFileMode.OtherExecute,
            File.GetUnixFileMode(bundle.Path));
    }

    [Fact]
    public void Create_fails_with_AlreadyExists_and_keeps_the_existing_bundle()
    {
        var first = Bundle.Create(_state, "ns1", "c1", Spec);
        var error = Assert.Throws<AlreadyExistsException>(() => Bundle.Create(_state, "ns1", "c1", "{}"));

        Assert.Contains("already exists", error.Message);
        Assert.Equal(Spec, File.ReadAllText(first.ConfigPath));
    }

    [Theory]
    [InlineData("ns1", "../escape")]
    [InlineData("ns1", "a/b")]
    [InlineData("ns1", "")]
    [InlineData("..", "c1")]
    [InlineData("ns/x", "c1")]
    public void Bad_identifiers_never_touch_the_filesystem(string ns, string id)
    {
        Assert.Throws<InvalidArgumentException>(() => Bundle.Create(_state, ns, id, Spec));
        Assert.Throws<InvalidArgumentException>(() => Bundle.Load(_state, ns, id));
        Assert.False(Directory.Exists(_state)); // not even the state directory was created
        Assert.False(Directory.Exists(Path.Combine(Path.GetDirectoryName(_state)!, "escape")));
    }

    [Fact]
    public void Load_finds_an_existing_bundle_and_reports_missing_ones_as_NotFound()
    {
        Bundle.Create(_state, "ns1", "c1", Spec);

        var loaded = Bundle.Load(_state, "ns1", "c1");
        Assert.Equal(("ns1", "c1"), (loaded.Namespace, loaded.Id));
        Assert.Throws<NotFoundException>(() => Bundle.Load(_state, "ns1", "c2"));
        Assert.Throws<NotFoundException>(() => Bundle.Load(_state, "ns2", "c1"));
    }

    [Fact]
    public void List_returns_every_bundle_and_skips_foreign_and_half_deleted_directories()
    {
        Bundle.Create(_state, "ns1", "c1", Spec);
        Bundle.Create(_state, "ns1", "c2", Spec);
        Bundle.Create(_state, "ns2", "c1", Spec);
        Directory.CreateDirectory(Path.Combine(_state, "ns1", ".c3.deleting-abc"));
        Directory.CreateDirectory(Path.Combine(_state, "ns1", "bad..name"));
        Directory.CreateDirectory(Path.Combine(_state, ".hidden-ns", "c9"));

        var listed = Bundle.List(_state).Select(b => $"{b.Namespace}/{b.Id}").ToList();

        Assert.Equal(["ns1/c1", "ns1/c2", "ns2/c1"], listed);
        Assert.Empty(Bundle.List(Path.Combine(_state, "missing")));
    }

    [Fact]
    public void Delete_removes_everything_is_idempotent_and_finishes_interrupted_deletes()
    {
        var bundle = Bundle.Create(_state, "ns1", "c1", Spec);
        File.WriteAllText(bundle.AddressPath, "unix:///run/containerd/s/x");
        var interrupted = Path.Combine(_state, "ns1", ".c1.deleting-0123");
        Directory.CreateDirectory(Path.Combine(interrupted, "rootfs"));
        var unrelated = Bundle.Create(_state, "ns1", "c2", Spec);

        bundle.Delete();
        bundle.Delete();

        Assert.False(Directory.Exists(bundle.Path));
        Assert.False(Directory.Exists(interrupted));
        Assert.Equal(["c2"], Directory.EnumerateFileSystemEntries(Path.Combine(_state, "ns1")).Select(Path.GetFileName));
        Assert.True(Directory.Exists(unrelated.Path));
        // And the id can be used again.
        Bundle.Create(_state, "ns1", "c1", Spec);
    }

    [Fact]
    public void Address_and_shim_binary_path_round_trip()
    {
        var bundle = Bundle.Create(_state, "ns1", "c1", Spec);
        Assert.Null(bundle.ReadAddress());
        Assert.Null(bundle.ReadShimBinaryPath());

        File.WriteAllText(bundle.AddressPath, "unix:///run/containerd/s/abc");
        bundle.WriteShimBinaryPath("/usr/bin/containerd-shim-runc-v2");

        Assert.Equal("unix:///run/containerd/s/abc", bundle.ReadAddress());
        Assert.Equal("/usr/bin/containerd-shim-runc-v2", File.ReadAllText(Path.Combine(bundle.Path, "shim-binary-path")));
        Assert.Equal("/usr/bin/containerd-shim-runc-v2", bundle.ReadShimBinaryPath());
    }
}
