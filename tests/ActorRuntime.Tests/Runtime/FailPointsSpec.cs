using ActorRuntime.Configuration;
using ActorRuntime.Diagnostics;
using ActorRuntime.Hosting;

namespace ActorRuntime.Tests.Runtime;

/// <summary>
/// The crash points' names and arming (the crash itself is walked with real shims by CrashPointSpec and
/// actorruntime-bench crash-walk): nothing is armed by default, options and configuration arm by name, and an unknown
/// name is refused with the list of known ones.
/// </summary>
public sealed class FailPointsSpec
{
    [Fact]
    public void Every_crash_point_is_named_operation_dot_step_once_and_each_operation_of_the_lifecycle_has_some()
    {
        Assert.Equal(FailPoint.All.Count, FailPoint.All.Distinct().Count());
        Assert.All(FailPoint.All, name => Assert.Matches("^[a-z-]+\\.[a-z-]+$", name));
        Assert.Superset(new HashSet<string> { "create", "start", "exec", "exec-start", "kill", "delete", "exec-delete", "reload", "settle", "cleanup" },
            FailPoint.All.Select(FailPoint.Operation).ToHashSet());
    }

    [Fact]
    public void Nothing_is_armed_by_default()
    {
        Assert.Same(FailPoints.None, FailPoints.Create(RuntimeTopology.Config(new ActorRuntimeOptions())));
        // Unarmed, a hit is a no-op (an armed one would have killed this test run).
        foreach (var name in FailPoint.All) FailPoints.None.Hit(name);
    }

    [Fact]
    public void Options_arm_the_named_points_through_the_configuration()
    {
        var options = new ActorRuntimeOptions { FailPoints = [FailPoint.CreateAfterRecordWritten, FailPoint.SettleAfterExitsWritten] };

        var armed = FailPoints.Create(RuntimeTopology.Config(options));

        Assert.Equal(new[] { FailPoint.CreateAfterRecordWritten, FailPoint.SettleAfterExitsWritten }.Order(), armed.Armed.Order());
    }

    [Fact]
    public void An_unknown_name_is_refused_with_the_known_ones()
    {
        var error = Assert.Throws<ArgumentException>(() => new FailPoints(["create.after-lunch"]));

        Assert.Contains("create.after-lunch", error.Message);
        Assert.Contains(FailPoint.CreateAfterRecordWritten, error.Message);
    }
}
