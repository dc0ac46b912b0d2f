using ActorRuntime.Diagnostics;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Testing;
using Xunit.Abstractions;

namespace ActorRuntime.IntegrationTests.Restart;

/// <summary>
/// Crash points with real shims (<see cref="CrashPointRun"/>): one per operation here, every one in
/// <c>actorruntime-bench crash-walk</c>. The host kills itself at the armed point mid-lifecycle (with execs); a new
/// generation finishes. Every delivery of the last generation's subscription (the whole journal, from offset 0) is
/// counted: one exit and one delete for the init run, one exit per started exec run, each with the status the process
/// really ended with; and nothing leaks (shims, sockets, bundles, runc state, cgroups, mounts).
/// </summary>
public sealed class CrashPointSpec(ITestOutputHelper output)
{
    private static readonly string[] Walked =
    [
        FailPoint.CreateAfterShimCall,
        FailPoint.StartAfterShimCall,
        FailPoint.ExecStartAfterShimCall,
        FailPoint.KillAfterShimCall,
        FailPoint.DeleteAfterExitWritten,
        FailPoint.ReloadAfterShimCall,
        FailPoint.SettleBeforeExitsWritten,
        FailPoint.CleanupAfterShimDelete,
    ];

    public static TheoryData<string> OnePerOperation => new(Walked);

    /// <summary>Where the bus has written a run's delete while the record still says it is owed.</summary>
    public static TheoryData<string> DeleteWrittenRecordKept => new(FailPoint.DeleteAfterExitWritten, FailPoint.CleanupAfterExitsWritten);

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(OnePerOperation))]
    public Task A_runtime_killed_at_a_crash_point_still_publishes_each_exit_and_delete_once_with_the_right_status_and_leaks_nothing(
        string failPoint) => WalkAsync(failPoint, retention: null);

    /// <summary>
    /// The bus's retention is 1 s, so every restart outlives it: what keeps the delete from being published twice is
    /// that the bus keeps a run until its record is forgotten, not its memory of recent runs.
    /// </summary>
    [Theory(Timeout = 120_000)]
    [MemberData(nameof(DeleteWrittenRecordKept))]
    public Task A_restart_past_the_bus_s_retention_publishes_no_delete_twice(string failPoint) =>
        WalkAsync(failPoint, TimeSpan.FromSeconds(1));

    private async Task WalkAsync(string failPoint, TimeSpan? retention)
    {
        await using var env = new ShimTestEnvironment();
        var place = new CrashPointPlace(env.Root, env.StateDirectory, env.RuncRoot, env.Namespace, ShimTestEnvironment.ImageDirectory)
        {
            EventRetention = retention,
        };
        env.TrackAddress(place.ShimAddress("box"));
        var log = new StringWriter();
        var outcome = await CrashPointRun.RunAsync(place, failPoint, log);
        output.WriteLine(log.ToString());
        output.WriteLine(string.Join("\n", outcome.Events));

        Assert.True(outcome.Hit, $"{failPoint} was never hit");
        Assert.Empty(outcome.Problems);
        Assert.Empty(outcome.Audit.Problems);
        await LeakCheck.AssertCleanAsync(env);
    }

    [Fact]
    public void Every_operation_of_the_issue_has_a_crash_point_walked_here()
    {
        var walked = Walked.Select(FailPoint.Operation).ToHashSet();
        Assert.Superset(new HashSet<string> { "create", "start", "exec-start", "kill", "delete", "reload", "settle" }, walked);
        Assert.All(Walked, name => Assert.Contains(name, FailPoint.All));
    }
}
