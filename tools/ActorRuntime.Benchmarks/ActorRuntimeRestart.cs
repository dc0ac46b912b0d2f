using System.Diagnostics;
using ActorRuntime.Testing;

namespace ActorRuntime.Benchmarks;

/// <summary>
/// actorruntime-host: create+start N sleeping busybox containers, SIGKILL the host, start a new one on the same
/// directories and time until it is ready (AwaitLoaded done: every shim reloaded) and every container answered state.
/// </summary>
internal static class ActorRuntimeRestart
{
    public static async Task<RestartResult> RunAsync(int n, int parallel, TextWriter log)
    {
        await using var bench = BenchHost.Prepare();
        var ids = Enumerable.Range(0, n).Select(i => $"bench-{i:D4}").ToList();
        var host = await bench.StartAsync(TimeSpan.FromSeconds(60));
        var sw = Stopwatch.StartNew();
        await Shell.ForEachAsync(ids, parallel, async id =>
        {
            await host.CreateAsync(id, ["sleep", "1000"], bench.Image);
            await host.StartTaskAsync(id);
        });
        var createMs = sw.Elapsed.TotalMilliseconds;
        log.WriteLine($"actorruntime: {n} containers running after {createMs:F0} ms; SIGKILL host {host.Pid}");
        await bench.KillAsync();

        var restart = Stopwatch.StartNew();
        host = await bench.StartAsync(TimeSpan.FromSeconds(120));
        var readyMs = restart.Elapsed.TotalMilliseconds;
        var reloaded = host.Ready["reloaded"]!.GetValue<int>();
        if (reloaded != n || host.Ready["cleanedUp"]!.GetValue<int>() != 0)
            throw new InvalidOperationException($"reload: {host.Ready.ToJsonString()}");
        await Shell.ForEachAsync(ids, parallel, async id =>
        {
            var s = await host.StateAsync(id);
            if (s["status"]!.GetValue<string>() != "running") throw new InvalidOperationException($"{id}: {s.ToJsonString()}");
        });
        var allStateMs = restart.Elapsed.TotalMilliseconds;
        log.WriteLine($"actorruntime: ready {readyMs:F0} ms (load {host.Ready["loadMs"]} ms), all state {allStateMs:F0} ms");

        sw.Restart();
        await Shell.ForEachAsync(ids, parallel, async id =>
        {
            await host.KillTaskAsync(id, 9);
            await host.WaitTaskAsync(id, TimeSpan.FromSeconds(30));
            await host.DeleteAsync(id);
        });
        var cleanupMs = sw.Elapsed.TotalMilliseconds;
        if ((await host.ListAsync()).Count != 0) throw new InvalidOperationException("tasks left after cleanup");
        return new RestartResult("ActorRuntime", n, createMs, readyMs, readyMs, allStateMs,
            host.Ready["loadMs"]!.GetValue<double>(), cleanupMs,
            $"ready line at {readyMs:F0} ms includes .NET start-up ({host.Ready["sinceProcessStartMs"]} ms in-process incl. reload)");
    }
}
