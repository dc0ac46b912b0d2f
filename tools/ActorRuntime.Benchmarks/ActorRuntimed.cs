using System.Collections.Concurrent;
using System.Security.Cryptography;
using ActorRuntime.Testing;
using ActorRuntime.Oci;

namespace ActorRuntime.Benchmarks;

/// <summary>
/// Our daemon for a benchmark (a <see cref="DaemonProcess"/>) on its own socket, root, state and runc root under /tmp,
/// with a busybox rootfs for <c>ctr run --rootfs</c>; ctr's default namespace. Disposing removes its containers through
/// ctr, stops it (SIGTERM, then SIGKILL), then whatever is left: shims, runc containers, mounts, cgroups, the directory.
/// </summary>
internal sealed class ActorRuntimed : IAsyncDisposable
{
    private const int SigTerm = 15;
    private readonly ConcurrentBag<string> _ids = [];
    private DaemonProcess? _process;

    private ActorRuntimed(string tag)
    {
        Directory = $"/tmp/arbenchd-{tag}";
        Address = Path.Combine(Directory, "actorruntimed.sock");
        RuncRoot = Path.Combine(Directory, "runc");
    }

    public static string Dll => DaemonProcess.Dll;

    public string Directory { get; }
    public string Address { get; }
    public string RuncRoot { get; }

    /// <summary>ctr's default, which is also the daemon's default namespace.</summary>
    public string Namespace => "default";

    public string Rootfs { get; private set; } = "";
    public int Pid => _process?.Pid ?? throw new InvalidOperationException("actorruntimed is not running");

    public string Log() => string.Join('\n', (_process?.Stderr ?? "").Split('\n').TakeLast(40));

    public static async Task<ActorRuntimed> StartAsync()
    {
        var daemon = new ActorRuntimed(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));
        try
        {
            await daemon.SpawnAsync();
            return daemon;
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
    }

    /// <summary>Remembers an id this run creates, so that disposal removes its runc container and cgroups if the daemon did not.</summary>
    public string Track(string id)
    {
        _ids.Add(id);
        return id;
    }

    private async Task SpawnAsync()
    {
        if (!File.Exists(Dll)) throw new FileNotFoundException($"{Dll} is not built (dotnet build tools/ActorRuntime.Daemon -c Release)");
        System.IO.Directory.CreateDirectory(Directory);
        Rootfs = BusyboxImage.Ensure(Path.Combine(Directory, "rootfs"));
        System.IO.Directory.CreateDirectory(Path.Combine(Rootfs, "run")); // the default spec mounts /run
        var config = Path.Combine(Directory, "actorruntimed.conf");
        await File.WriteAllTextAsync(config, $"actor-runtime.runc-root = \"{RuncRoot}\"\n");
        // Warning, as the benchmark's containerd runs at level warn: neither daemon pays for per-call log lines.
        _process = DaemonProcess.Start(Address,
        [
            "--address", Address, "--root", Path.Combine(Directory, "root"), "--state", Path.Combine(Directory, "state"),
            "--config", config, "--log-level", "Warning",
        ]);
        await _process.WaitServingAsync(TimeSpan.FromSeconds(60));
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } daemon)
        {
            if (!daemon.HasExited)
            {
                // Its shims and containers outlive a stopped daemon (as with containerd): remove them through it first.
                foreach (var ns in new[] { Namespace, DockerDaemon.Namespace })
                {
                    string[] Ctr(params string[] args) => ["-a", Address, "-n", ns, .. args];
                    var tasks = await Shell.ExecAsync("ctr", Ctr("task", "ls", "-q"));
                    foreach (var id in Lines(tasks.Stdout)) await Shell.RunAsync("ctr", Ctr("task", "rm", "-f", id));
                    var containers = await Shell.ExecAsync("ctr", Ctr("container", "ls", "-q"));
                    foreach (var id in Lines(containers.Stdout)) await Shell.RunAsync("ctr", Ctr("container", "rm", id));
                }
                daemon.Signal(SigTerm);
                try
                {
                    await daemon.WaitExitAsync(TimeSpan.FromSeconds(20));
                }
                catch (TimeoutException)
                {
                    // Disposal kills it.
                }
            }
            await daemon.DisposeAsync();
            _process = null;
        }
        foreach (var shim in HostProcesses.All().Where(s => HostProcesses.IsShim(s) && s.CommandLine.Contains(Address)))
            HostProcesses.Kill(shim.Pid);
        // Its runc root, and the shim's default one in case a client's options chose that: only our ids there.
        foreach (var root in new[] { Path.Combine(RuncRoot, Namespace), $"/run/containerd/runc/{Namespace}" })
        {
            if (!System.IO.Directory.Exists(root)) continue;
            var list = await Shell.ExecAsync("runc", ["--root", root, "list", "-q"]);
            foreach (var id in Lines(list.Stdout).Where(id => root.StartsWith(RuncRoot, StringComparison.Ordinal) || _ids.Contains(id)))
                await Shell.RunAsync("runc", ["--root", root, "delete", "--force", id]);
        }
        // The namespace's cgroup directory is shared with anyone's "default" namespace: only our containers' go.
        foreach (var hierarchy in System.IO.Directory.EnumerateDirectories("/sys/fs/cgroup"))
        foreach (var id in _ids)
            try { System.IO.Directory.Delete(Path.Combine(hierarchy, Namespace, id)); } catch (IOException) { }
        await Shell.UnmountUnderAsync(Directory);
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    private static IEnumerable<string> Lines(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
