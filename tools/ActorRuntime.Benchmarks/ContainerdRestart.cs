using System.Diagnostics;
using System.Security.Cryptography;
using ActorRuntime.Testing;
using ActorRuntime.TestKit.Oci;
using static ActorRuntime.Testing.Eventually;

namespace ActorRuntime.Benchmarks;

/// <summary>
/// The same scenario against real containerd (the Debian 1.6.20 package): a private containerd (own config, root,
/// state and gRPC socket under /tmp, CRI disabled), N <c>ctr run -d --rootfs</c> busybox containers, SIGKILL containerd,
/// start it again and time until <c>ctr task ls</c> shows all N RUNNING and every <c>ctr task ps</c> answers.
/// </summary>
internal static class ContainerdRestart
{
    public static async Task<RestartResult> RunAsync(int n, int parallel, TextWriter log)
    {
        var tag = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var dir = $"/tmp/ctrbench-{tag}";
        var sock = Path.Combine(dir, "containerd.sock");
        var ns = $"ctrbench-{tag}";
        var config = Path.Combine(dir, "config.toml");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(config, $"""
            version = 2
            root = "{dir}/root"
            state = "{dir}/state"
            disabled_plugins = ["io.containerd.grpc.v1.cri"]
            [grpc]
              address = "{sock}"
            [ttrpc]
              address = "{sock}.ttrpc"
            [debug]
              level = "warn"
            [plugins."io.containerd.internal.v1.opt"]
              path = "{dir}/opt"
            """);
        // ctr run --rootfs uses the directory as is (no snapshotter); containerd's default spec mounts /run too.
        var rootfs = BusyboxImage.Ensure(Path.Combine(dir, "rootfs"));
        Directory.CreateDirectory(Path.Combine(rootfs, "run"));
        var ids = Enumerable.Range(0, n).Select(i => $"bench-{i:D4}").ToList();
        Process? daemon = null;
        string[] Ctr(params string[] a) => ["-a", sock, "-n", ns, .. a];
        try
        {
            daemon = await StartDaemonAsync(config, sock, dir);
            var sw = Stopwatch.StartNew();
            await Shell.ForEachAsync(ids, parallel, id => Shell.CheckAsync("ctr", Ctr("run", "-d", "--rootfs", rootfs, id, "/bin/sleep", "1000")));
            var createMs = sw.Elapsed.TotalMilliseconds;
            log.WriteLine($"containerd: {n} containers running after {createMs:F0} ms; SIGKILL containerd {daemon.Id}");
            daemon.Kill();
            await daemon.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            daemon.Dispose();

            var restart = Stopwatch.StartNew();
            daemon = StartProcess(config, dir);
            var restartBound = TimeSpan.FromSeconds(120);
            await EventuallyAsync(async () => (await Shell.RunAsync("ctr", ["-a", sock, "version"], TimeSpan.FromSeconds(10))).Code == 0,
                "containerd to answer after restart", restartBound);
            var apiMs = restart.Elapsed.TotalMilliseconds;
            var (running, ls) = (0, "");
            await EventuallyAsync(async () =>
            {
                (var code, ls) = await Shell.RunAsync("ctr", Ctr("task", "ls"), TimeSpan.FromSeconds(30));
                running = ls.Split('\n').Count(l => l.StartsWith("bench-", StringComparison.Ordinal) && l.Contains("RUNNING"));
                return code == 0 && running == n;
            }, $"all {n} tasks RUNNING", restartBound - restart.Elapsed, () => $"only {running} RUNNING: {ls}");
            var lsMs = restart.Elapsed.TotalMilliseconds;
            await Shell.ForEachAsync(ids, parallel, id => Shell.CheckAsync("ctr", Ctr("task", "ps", id)));
            var psMs = restart.Elapsed.TotalMilliseconds;
            log.WriteLine($"containerd: API {apiMs:F0} ms, all RUNNING {lsMs:F0} ms, all ps {psMs:F0} ms");

            sw.Restart();
            await Shell.ForEachAsync(ids, parallel, async id =>
            {
                await Shell.CheckAsync("ctr", Ctr("task", "rm", "-f", id));
                await Shell.CheckAsync("ctr", Ctr("container", "rm", id));
            });
            var cleanupMs = sw.Elapsed.TotalMilliseconds;
            return new RestartResult("containerd", n, createMs, apiMs, lsMs, psMs, null, cleanupMs,
                "each figure includes spawning ctr (a Go binary) per query; ps queries run " + parallel + " at a time");
        }
        finally
        {
            await ForceCleanAsync(daemon, sock, ns, ids, dir);
        }
    }

    private static Process StartProcess(string config, string dir)
    {
        var psi = new ProcessStartInfo("containerd") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add("--config");
        psi.ArgumentList.Add(config);
        var p = Process.Start(psi)!;
        var logFile = File.AppendText(Path.Combine(dir, "containerd.log"));
        logFile.AutoFlush = true;
        _ = Task.Run(async () =>
        {
            while (await p.StandardError.ReadLineAsync() is { } line) lock (logFile) logFile.WriteLine(line);
        });
        _ = Task.Run(async () =>
        {
            while (await p.StandardOutput.ReadLineAsync() is { } line) lock (logFile) logFile.WriteLine(line);
        });
        return p;
    }

    private static async Task<Process> StartDaemonAsync(string config, string sock, string dir)
    {
        var p = StartProcess(config, dir);
        string Log() => File.ReadAllText(Path.Combine(dir, "containerd.log"));
        await EventuallyAsync(async () =>
        {
            if ((await Shell.RunAsync("ctr", ["-a", sock, "version"], TimeSpan.FromSeconds(10))).Code == 0) return true;
            return p.HasExited ? throw new InvalidOperationException($"containerd exited before it came up: {Log()}") : false;
        }, "containerd to come up", TimeSpan.FromSeconds(30), Log);
        return p;
    }

    /// <summary>Kill tasks, delete containers, stop containerd, kill leftover shims, delete runc state, unmount, remove the directory.</summary>
    private static async Task ForceCleanAsync(Process? daemon, string sock, string ns, IReadOnlyList<string> ids, string dir)
    {
        if (daemon is { HasExited: false })
        {
            var (_, left) = await Shell.RunAsync("ctr", ["-a", sock, "-n", ns, "task", "ls", "-q"]);
            foreach (var id in left.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                await Shell.RunAsync("ctr", ["-a", sock, "-n", ns, "task", "rm", "-f", id]);
            var (_, containers) = await Shell.RunAsync("ctr", ["-a", sock, "-n", ns, "container", "ls", "-q"]);
            foreach (var id in containers.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                await Shell.RunAsync("ctr", ["-a", sock, "-n", ns, "container", "rm", id]);
            daemon.Kill(); // SIGKILL; nothing of ours is left running under it
            await daemon.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        foreach (var shim in HostProcesses.All().Where(p => HostProcesses.IsShim(p) && p.CommandLine.Any(a => a.Contains(sock, StringComparison.Ordinal))))
            HostProcesses.Kill(shim.Pid);
        var runcRoot = $"/run/containerd/runc/{ns}";
        if (Directory.Exists(runcRoot))
        {
            var (_, list) = await Shell.RunAsync("runc", ["--root", runcRoot, "list", "-q"]);
            foreach (var id in list.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                await Shell.RunAsync("runc", ["--root", runcRoot, "delete", "--force", id]);
            try { Directory.Delete(runcRoot, recursive: true); } catch (IOException) { }
        }
        foreach (var h in Directory.EnumerateDirectories("/sys/fs/cgroup"))
        {
            var cg = Path.Combine(h, ns);
            if (!Directory.Exists(cg)) continue;
            foreach (var d in Directory.EnumerateDirectories(cg, "*", SearchOption.AllDirectories).Append(cg).OrderByDescending(d => d.Length))
                try { Directory.Delete(d); } catch (IOException) { }
        }
        // A shim killed with its containerd leaves its socket: /run/containerd/s/sha256(<grpc address>/<ns>/<id>).
        foreach (var id in ids)
        {
            var hash = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{sock}/{ns}/{id}")));
            try { File.Delete(Path.Combine("/run/containerd/s", hash)); } catch (IOException) { }
        }
        await Shell.UnmountUnderAsync(dir);
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }
}
