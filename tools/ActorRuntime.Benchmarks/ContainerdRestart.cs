using System.Diagnostics;
using ActorRuntime.Testing;
using static ActorRuntime.Testing.Eventually;

namespace ActorRuntime.Benchmarks;

/// <summary>
/// The restart scenario against real containerd (<see cref="ContainerdDaemon"/>): N <c>ctr run -d --rootfs</c> busybox
/// containers, SIGKILL containerd, start it again and time until <c>ctr task ls</c> shows all N RUNNING and every
/// <c>ctr task ps</c> answers.
/// </summary>
internal static class ContainerdRestart
{
    public static async Task<RestartResult> RunAsync(int n, int parallel, TextWriter log)
    {
        await using var containerd = await ContainerdDaemon.StartAsync();
        var ids = Enumerable.Range(0, n).Select(i => containerd.Track($"bench-{i:D4}")).ToList();
        var sw = Stopwatch.StartNew();
        await Shell.ForEachAsync(ids, parallel, id =>
            Shell.CheckAsync("ctr", containerd.Ctr("run", "-d", "--rootfs", containerd.Rootfs, id, "/bin/sleep", "1000")));
        var createMs = sw.Elapsed.TotalMilliseconds;
        log.WriteLine($"containerd: {n} containers running after {createMs:F0} ms; SIGKILL containerd {containerd.Pid}");
        await containerd.KillAsync();

        var restart = Stopwatch.StartNew();
        var restartBound = TimeSpan.FromSeconds(120);
        await containerd.SpawnAndWaitAsync();
        var apiMs = restart.Elapsed.TotalMilliseconds;
        var (running, ls) = (0, "");
        await EventuallyAsync(async () =>
        {
            (var code, ls) = await Shell.RunAsync("ctr", containerd.Ctr("task", "ls"), TimeSpan.FromSeconds(30));
            running = ls.Split('\n').Count(l => l.StartsWith("bench-", StringComparison.Ordinal) && l.Contains("RUNNING"));
            return code == 0 && running == n;
        }, $"all {n} tasks RUNNING", restartBound - restart.Elapsed, () => $"only {running} RUNNING: {ls}");
        var lsMs = restart.Elapsed.TotalMilliseconds;
        await Shell.ForEachAsync(ids, parallel, id => Shell.CheckAsync("ctr", containerd.Ctr("task", "ps", id)));
        var psMs = restart.Elapsed.TotalMilliseconds;
        log.WriteLine($"containerd: API {apiMs:F0} ms, all RUNNING {lsMs:F0} ms, all ps {psMs:F0} ms");

        sw.Restart();
        await Shell.ForEachAsync(ids, parallel, async id =>
        {
            await Shell.CheckAsync("ctr", containerd.Ctr("task", "rm", "-f", id));
            await Shell.CheckAsync("ctr", containerd.Ctr("container", "rm", id));
        });
        var cleanupMs = sw.Elapsed.TotalMilliseconds;
        return new RestartResult("containerd", n, createMs, apiMs, lsMs, psMs, null, cleanupMs,
            "each figure includes spawning ctr (a Go binary) per query; ps queries run " + parallel + " at a time");
    }
}
