using ActorRuntime.Shims;
using ActorRuntime.Testing;

namespace ActorRuntime.Tests;

public sealed class CgroupLeftoversSpec : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "cgroupleftovers-" + Guid.NewGuid().ToString("N"));
    private string State => Path.Combine(_dir, "state");
    private string Root => Path.Combine(_dir, "cgroup");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Bundle BundleWith(string id, string? cgroupsPath) =>
        Bundle.Create(State, "ns1", id, cgroupsPath is null ? "{}" : $$$"""{"linux":{"cgroupsPath":"{{{cgroupsPath}}}"}}""");

    [Fact]
    public void The_container_s_empty_cgroups_go_under_every_hierarchy_and_its_neighbours_stay()
    {
        foreach (var h in new[] { "cpu", "memory", "pids" })
        {
            Directory.CreateDirectory(Path.Combine(Root, h, "ns1", "c1", "child"));
            Directory.CreateDirectory(Path.Combine(Root, h, "ns1", "c2"));
        }
        var removed = CgroupLeftovers.RemoveEmpty(BundleWith("c1", "/ns1/c1"), new RecordingLogger(), Root);

        Assert.Equal(6, removed.Count);
        foreach (var h in new[] { "cpu", "memory", "pids" })
        {
            Assert.False(Directory.Exists(Path.Combine(Root, h, "ns1", "c1")));
            Assert.True(Directory.Exists(Path.Combine(Root, h, "ns1", "c2")), "a neighbour's cgroup was removed");
        }
    }

    [Fact]
    public void A_cgroup_that_still_holds_something_is_left_and_logged()
    {
        var busy = Path.Combine(Root, "cpu", "ns1", "c1");
        Directory.CreateDirectory(busy);
        File.WriteAllText(Path.Combine(busy, "cgroup.procs"), "42"); // a real cgroup holding a process refuses rmdir too
        var logger = new RecordingLogger();

        Assert.Empty(CgroupLeftovers.RemoveEmpty(BundleWith("c1", "/ns1/c1"), logger, Root));
        Assert.True(Directory.Exists(busy));
        Assert.Contains(logger.Entries, e => e.Message.Contains(busy));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("/ns1")]
    [InlineData("/")]
    [InlineData("ns1/c1")]
    [InlineData("/ns1/../c1")]
    [InlineData("system.slice:ns1:c1")]
    public void A_spec_without_an_absolute_path_ending_in_the_id_touches_nothing(string? cgroupsPath)
    {
        Directory.CreateDirectory(Path.Combine(Root, "cpu", "ns1", "c1"));
        Directory.CreateDirectory(Path.Combine(Root, "cpu", "c1"));

        Assert.Empty(CgroupLeftovers.RemoveEmpty(BundleWith("c1", cgroupsPath), new RecordingLogger(), Root));
        Assert.True(Directory.Exists(Path.Combine(Root, "cpu", "ns1", "c1")));
        Assert.True(Directory.Exists(Path.Combine(Root, "cpu", "c1")));
    }
}
