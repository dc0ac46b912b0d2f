using System.Diagnostics;
using System.Security.Cryptography;
using ActorRuntime.Oci;
using static ActorRuntime.Testing.Eventually;

namespace ActorRuntime.Testing;

/// <summary>
/// A private containerd (the Debian 1.6.20 package) for a benchmark or a spec: its own config, root, state and gRPC socket under
/// /tmp, CRI disabled, a busybox rootfs for <c>ctr run --rootfs</c>, a namespace of its own. Disposing removes
/// everything it started: tasks, containers, the daemon, leftover shims and their sockets, runc state, cgroups, mounts.
/// </summary>
public sealed class ContainerdDaemon : IAsyncDisposable
{
    private readonly string _config;
    private readonly List<string> _ids = [];
    private Process? _process;

    private ContainerdDaemon(string tag)
    {
        Directory = $"/tmp/ctrbench-{tag}";
        Socket = Path.Combine(Directory, "containerd.sock");
        Namespace = $"ctrbench-{tag}";
        _config = Path.Combine(Directory, "config.toml");
    }

    public string Directory { get; }
    public string Socket { get; }
    public string Namespace { get; }
    public string Rootfs { get; private set; } = "";
    public int Pid => _process?.Id ?? throw new InvalidOperationException("containerd is not running");

    /// <summary>Writes the config and the rootfs, starts containerd and waits until it answers.</summary>
    public static async Task<ContainerdDaemon> StartAsync()
    {
        var daemon = new ContainerdDaemon(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));
        try
        {
            await daemon.PrepareAsync();
            await daemon.SpawnAndWaitAsync();
            return daemon;
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
    }

    /// <summary>ctr's arguments for this daemon and namespace, then <paramref name="args"/>.</summary>
    public string[] Ctr(params string[] args) => ["-a", Socket, "-n", Namespace, .. args];

    /// <summary>Remembers an id this run creates, so that disposal removes its shim socket too.</summary>
    public string Track(string id)
    {
        lock (_ids) _ids.Add(id);
        return id;
    }

    /// <summary>SIGKILL, as a crash would.</summary>
    public async Task KillAsync()
    {
        var p = _process ?? throw new InvalidOperationException("containerd is not running");
        p.Kill();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        p.Dispose();
        _process = null;
    }

    /// <summary>Starts containerd again on the same directories; returns once it answers.</summary>
    public async Task SpawnAndWaitAsync()
    {
        Respawn();
        await WaitUntilAnsweringAsync();
    }

    /// <summary>Starts containerd on the same directories without waiting.</summary>
    public void Respawn()
    {
        if (_process is { HasExited: false }) throw new InvalidOperationException("containerd is already running");
        _process = Spawn();
    }

    /// <summary>Returns once <c>ctr version</c> answers.</summary>
    public async Task WaitUntilAnsweringAsync()
    {
        var p = _process ?? throw new InvalidOperationException("containerd is not running");
        string Log() => File.ReadAllText(Path.Combine(Directory, "containerd.log"));
        await EventuallyAsync(async () =>
        {
            if ((await Shell.RunAsync("ctr", ["-a", Socket, "version"], TimeSpan.FromSeconds(10))).Code == 0) return true;
            return p.HasExited ? throw new InvalidOperationException($"containerd exited before it came up: {Log()}") : false;
        }, "containerd to come up", TimeSpan.FromSeconds(120), Log);
    }

    private async Task PrepareAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        await File.WriteAllTextAsync(_config, $"""
            version = 2
            root = "{Directory}/root"
            state = "{Directory}/state"
            disabled_plugins = ["io.containerd.grpc.v1.cri"]
            [grpc]
              address = "{Socket}"
            [ttrpc]
              address = "{Socket}.ttrpc"
            [debug]
              level = "warn"
            [plugins."io.containerd.internal.v1.opt"]
              path = "{Directory}/opt"
            """);
        // ctr run --rootfs uses the directory as is (no snapshotter); containerd's default spec mounts /run too.
        Rootfs = BusyboxImage.Ensure(Path.Combine(Directory, "rootfs"));
        System.IO.Directory.CreateDirectory(Path.Combine(Rootfs, "run"));
    }

    private Process Spawn()
    {
        var psi = new ProcessStartInfo("containerd") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add("--config");
        psi.ArgumentList.Add(_config);
        var p = Process.Start(psi)!;
        var logFile = File.AppendText(Path.Combine(Directory, "containerd.log"));
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

    /// <summary>The shim processes this containerd started (their command line names its socket).</summary>
    public IReadOnlyList<int> ShimPids() =>
        HostProcesses.All().Where(p => HostProcesses.IsShim(p) && p.CommandLine.Any(a => a.Contains(Socket, StringComparison.Ordinal)))
            .Select(p => p.Pid).ToList();

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } daemon)
        {
            var (_, left) = await Shell.RunAsync("ctr", Ctr("task", "ls", "-q"));
            foreach (var id in Lines(left)) await Shell.RunAsync("ctr", Ctr("task", "rm", "-f", id));
            var (_, containers) = await Shell.RunAsync("ctr", Ctr("container", "ls", "-q"));
            foreach (var id in Lines(containers)) await Shell.RunAsync("ctr", Ctr("container", "rm", id));
            daemon.Kill(); // SIGKILL; nothing of ours is left running under it
            await daemon.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        foreach (var shim in ShimPids()) HostProcesses.Kill(shim);
        var runcRoot = $"/run/containerd/runc/{Namespace}";
        if (System.IO.Directory.Exists(runcRoot))
        {
            var (_, list) = await Shell.RunAsync("runc", ["--root", runcRoot, "list", "-q"]);
            foreach (var id in Lines(list)) await Shell.RunAsync("runc", ["--root", runcRoot, "delete", "--force", id]);
            try { System.IO.Directory.Delete(runcRoot, recursive: true); } catch (IOException) { }
        }
        Cgroups.RemoveNamespace(Namespace);
        // A shim killed with its containerd leaves its socket: /run/containerd/s/sha256(<grpc address>/<ns>/<id>).
        lock (_ids)
            foreach (var id in _ids)
            {
                var hash = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{Socket}/{Namespace}/{id}")));
                try { File.Delete(Path.Combine("/run/containerd/s", hash)); } catch (IOException) { }
            }
        await Shell.UnmountUnderAsync(Directory);
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }

    private static IEnumerable<string> Lines(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>What runc leaves of a spec's namespace: its root /run/containerd/runc/&lt;ns&gt; and its cgroups.</summary>
public static class RuncNamespace
{
    /// <summary>
    /// Deletes by force the named containers still under the namespace's runc root, then the root itself and the
    /// namespace's cgroups (ctr's and our specs put a container under /&lt;namespace&gt;/&lt;id&gt;). For a namespace
    /// the calling spec owns alone; "default" keeps its root.
    /// </summary>
    public static void Remove(string ns, IEnumerable<string> ids)
    {
        var root = $"/run/containerd/runc/{ns}";
        foreach (var id in ids) HostProcesses.Run("runc", "--root", root, "delete", "--force", id);
        if (ns == "default") return;
        if (System.IO.Directory.Exists(root) && !System.IO.Directory.EnumerateFileSystemEntries(root).Any()) System.IO.Directory.Delete(root);
        Cgroups.RemoveNamespace(ns);
    }
}

/// <summary>Removes a namespace's cgroup directories (deepest first) under every hierarchy.</summary>
public static class Cgroups
{
    public static void RemoveNamespace(string ns)
    {
        foreach (var h in System.IO.Directory.EnumerateDirectories("/sys/fs/cgroup"))
        {
            var cg = Path.Combine(h, ns);
            if (!System.IO.Directory.Exists(cg)) continue;
            foreach (var d in System.IO.Directory.EnumerateDirectories(cg, "*", SearchOption.AllDirectories).Append(cg).OrderByDescending(d => d.Length))
                try { System.IO.Directory.Delete(d); } catch (IOException) { }
        }
    }
}
