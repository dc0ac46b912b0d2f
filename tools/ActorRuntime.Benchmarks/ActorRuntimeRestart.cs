using System.Diagnostics;
using System.Security.Cryptography;
using ActorRuntime.Testing;
using ActorRuntime.TestKit.Oci;

namespace ActorRuntime.Benchmarks;

/// <summary>
/// actorruntime-host: create+start N sleeping busybox containers, SIGKILL the host, start a new one on the same
/// directories and time until it is ready (AwaitLoaded done: every shim reloaded) and every container answered state.
/// </summary>
internal static class ActorRuntimeRestart
{
    public static async Task<RestartResult> RunAsync(int n, int parallel, TextWriter log)
    {
        var tag = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var dir = $"/tmp/arbench-{tag}";
        var state = Path.Combine(dir, "state");
        var runcRoot = Path.Combine(dir, "runc");
        var ns = $"arbench-{tag}";
        string[] args = ["--root", Path.Combine(dir, "root"), "--state-dir", state, "--namespace", ns, "--runc-root", runcRoot,
            "--no-stream-events"];
        var image = BusyboxImage.Ensure(Path.Combine(dir, "root", "images", "busybox"));
        var ids = Enumerable.Range(0, n).Select(i => $"bench-{i:D4}").ToList();
        HostProcess? host = null;
        try
        {
            host = await HostProcess.StartAsync(args, 0, TimeSpan.FromSeconds(60));
            var sw = Stopwatch.StartNew();
            await Shell.ForEachAsync(ids, parallel, async id =>
            {
                await host.CreateAsync(id, ["sleep", "1000"], image);
                await host.StartTaskAsync(id);
            });
            var createMs = sw.Elapsed.TotalMilliseconds;
            log.WriteLine($"actorruntime: {n} containers running after {createMs:F0} ms; SIGKILL host {host.Pid}");
            await host.KillAsync();
            await host.DisposeAsync();

            var restart = Stopwatch.StartNew();
            host = await HostProcess.StartAsync(args, 1, TimeSpan.FromSeconds(120));
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
        finally
        {
            if (host is not null) await host.DisposeAsync();
            await Cleanup.ForceCleanAsync(state, runcRoot, ns, dir);
        }
    }
}
