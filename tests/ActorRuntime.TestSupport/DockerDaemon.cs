using System.Diagnostics;
using System.Formats.Tar;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using ActorRuntime.Oci;

namespace ActorRuntime.Testing;

/// <summary>
/// A private dockerd (docker.io 20.10.24) driving any containerd-API daemon given by its socket (the real containerd
/// or actorruntimed), with the busybox image imported as <see cref="Image"/>. Everything it writes is under its own
/// directory: data root (overlay2), exec root (FIFOs, runc root, network namespaces), sockets, pid file, daemon and CLI
/// config, trust key; its containers' cgroups under a cgroup parent of its own. It leaves the host's network alone (no
/// bridge, iptables, forwarding, masquerading or userland proxy). Disposal removes its containers, stops it and removes
/// whatever is left: runc containers, shims, mounts, cgroups, the directory.
/// </summary>
public sealed class DockerDaemon : IAsyncDisposable
{
    /// <summary>The docker CLI of the same package; /usr/local/bin/docker on these machines is a different CLI.</summary>
    public const string Cli = "/usr/bin/docker";

    public const string Dockerd = "/usr/sbin/dockerd";

    /// <summary>dockerd's containerd namespace for containers (its default; plugins go to "plugins.moby").</summary>
    public const string Namespace = "moby";

    public const string Image = "actorruntime-busybox:latest";

    private const int SigTerm = 15;
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(20);

    private readonly bool _runDockerExisted = System.IO.Directory.Exists("/run/docker");
    private readonly Lock _logLock = new();
    private Process? _process;
    private StreamWriter? _log;

    private readonly IReadOnlyList<string> _flags;

    private DockerDaemon(string directory, string containerdAddress, IReadOnlyList<string> flags)
    {
        _flags = flags;
        Directory = directory;
        ContainerdAddress = containerdAddress;
        Socket = Path.Combine(directory, "docker.sock");
        DataRoot = Path.Combine(directory, "data");
        ExecRoot = Path.Combine(directory, "exec");
        CgroupParent = "/" + Path.GetFileName(directory);
    }

    /// <summary>/tmp/dk-&lt;random&gt;: short, because dockerd binds &lt;exec-root&gt;/libnetwork/&lt;64 hex&gt;.sock (108 bytes at most).</summary>
    public string Directory { get; }

    public string ContainerdAddress { get; }
    public string Socket { get; }
    public string DataRoot { get; }
    public string ExecRoot { get; }

    /// <summary>--cgroup-parent: containers get cgroupsPath &lt;parent&gt;/&lt;id&gt; in every hierarchy.</summary>
    public string CgroupParent { get; }

    public int Pid => _process?.Id ?? throw new InvalidOperationException("dockerd is not running");

    private string LogFile => Path.Combine(Directory, "dockerd.log");

    /// <summary>
    /// Starts dockerd on <paramref name="containerdAddress"/>, waits until <c>docker version</c> answers and imports the
    /// busybox image. A failed start removes everything, as disposal would. <paramref name="flags"/> go to dockerd as
    /// well (e.g. --live-restore), also when it is restarted.
    /// </summary>
    public static async Task<DockerDaemon> StartAsync(string containerdAddress, params string[] flags)
    {
        var daemon = new DockerDaemon($"/tmp/dk-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}", containerdAddress, flags);
        try
        {
            await daemon.SpawnAsync();
            await daemon.ImportImageAsync();
            return daemon;
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs the docker CLI against this daemon; a command still running after <paramref name="timeout"/> (60 s) is killed.</summary>
    public Task<Shell.Result> RunAsync(IEnumerable<string> args, TimeSpan? timeout = null) =>
        Shell.ExecAsync(Cli, ["--config", Path.Combine(Directory, "cli"), "-H", "unix://" + Socket, .. args], timeout);

    public Task<Shell.Result> RunAsync(params string[] args) => RunAsync(args, null);

    /// <summary>Runs the docker CLI and returns its stdout; fails with its output unless it exits 0.</summary>
    public async Task<string> OkAsync(params string[] args)
    {
        var result = await RunAsync(args);
        return result.Code == 0 ? result.Stdout : throw new InvalidOperationException($"docker {string.Join(' ', args)}: {result}");
    }

    /// <summary>dockerd's own log (stdout and stderr) so far.</summary>
    public string Log()
    {
        lock (_logLock) _log?.Flush();
        return File.Exists(LogFile) ? File.ReadAllText(LogFile) : "";
    }

    /// <summary>Stops dockerd (SIGTERM, as a service manager would) and starts it again on the same directories and flags.</summary>
    public async Task RestartAsync()
    {
        var p = _process ?? throw new InvalidOperationException("dockerd is not running");
        _ = Kill(p.Id, SigTerm);
        await p.WaitForExitAsync().WaitAsync(StopBound);
        p.Dispose();
        _process = null;
        lock (_logLock)
        {
            _log?.Dispose();
            _log = null;
        }
        await SpawnAsync();
    }

    private async Task SpawnAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        // The trust key goes to /etc/docker/key.json unless the config file says otherwise (there is no flag for it).
        var config = Path.Combine(Directory, "daemon.json");
        await File.WriteAllTextAsync(config, $$"""{ "deprecated-key-path": "{{Path.Combine(Directory, "key.json")}}" }""");
        var psi = new ProcessStartInfo(Dockerd) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[]
                 {
                     "--config-file", config, "--containerd", ContainerdAddress, "--data-root", DataRoot, "--exec-root", ExecRoot,
                     "-H", "unix://" + Socket, "--pidfile", Path.Combine(Directory, "docker.pid"), "--storage-driver", "overlay2",
                     "--cgroup-parent", CgroupParent, "--iptables=false", "--ip6tables=false", "--ip-forward=false",
                     "--ip-masq=false", "--bridge=none", "--userland-proxy=false",
                 }.Concat(_flags))
            psi.ArgumentList.Add(arg);
        _log = File.AppendText(LogFile);
        var p = _process = Process.Start(psi)!;
        var log = _log;
        p.OutputDataReceived += (_, e) => Append(log, e.Data);
        p.ErrorDataReceived += (_, e) => Append(log, e.Data);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        await Eventually.EventuallyAsync(async () =>
        {
            if ((await RunAsync(["version"], TimeSpan.FromSeconds(10))).Code == 0) return true;
            return p.HasExited ? throw new InvalidOperationException($"dockerd exited with {p.ExitCode} before it came up:\n{Log()}") : false;
        }, "dockerd to answer `docker version`", StartBound, Log);
    }

    private void Append(StreamWriter log, string? line)
    {
        if (line is null) return;
        lock (_logLock) log.WriteLine(line);
    }

    /// <summary>`docker import` of a busybox rootfs tarball: dockerd keeps images in its own graph driver, not in containerd.</summary>
    private async Task ImportImageAsync()
    {
        var rootfs = BusyboxImage.Ensure(Path.Combine(Directory, "busybox"));
        var tarball = Path.Combine(Directory, "busybox.tar");
        await TarFile.CreateFromDirectoryAsync(rootfs, tarball, includeBaseDirectory: false);
        await OkAsync("import", tarball, Image);
        File.Delete(tarball);
        System.IO.Directory.Delete(rootfs, recursive: true);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } p)
        {
            if (!p.HasExited)
            {
                // Through dockerd first, so the containerd-API daemon deletes its tasks and containers as usual.
                try
                {
                    var ids = Lines((await RunAsync(["ps", "-aq"], TimeSpan.FromSeconds(30))).Stdout).ToArray();
                    if (ids.Length > 0) await RunAsync(["rm", "-f", .. ids], TimeSpan.FromSeconds(60));
                }
                catch (TimeoutException)
                {
                    // dockerd or its containerd is stuck: what is left is removed below.
                }
                _ = Kill(p.Id, SigTerm);
                try
                {
                    await p.WaitForExitAsync().WaitAsync(StopBound);
                }
                catch (TimeoutException)
                {
                    p.Kill();
                    await p.WaitForExitAsync().WaitAsync(StopBound);
                }
            }
            p.Dispose();
            _process = null;
        }
        lock (_logLock)
        {
            _log?.Dispose();
            _log = null;
        }
        await RemoveLeftoversAsync();
    }

    /// <summary>What a dockerd that could not clean up leaves: its runc containers, their shims, mounts, cgroups, files.</summary>
    private async Task RemoveLeftoversAsync()
    {
        // Through the containerd-API daemon first: a shim killed under it makes it run the shim's cleanup later, which
        // recreates the runc root in our exec root. Its namespace "moby" holds this dockerd's containers only.
        // Bounded: the daemon may be gone or stuck (ctr's connect waits forever by default).
        string[] Ctr(params string[] args) => ["-a", ContainerdAddress, "-n", Namespace, "--connect-timeout", "5s", "--timeout", "30s", .. args];
        var runcRoot = Path.Combine(ExecRoot, "runtime-runc", Namespace);
        var ids = Lines((await Shell.ExecAsync("ctr", Ctr("containers", "ls", "-q"))).Stdout).Concat(await RuncContainersAsync(runcRoot)).Distinct();
        foreach (var id in ids)
        {
            await Shell.RunAsync("ctr", Ctr("task", "rm", "-f", id));
            await Shell.RunAsync("ctr", Ctr("containers", "rm", id));
        }
        // The daemon is gone or could not: runc and the shims directly.
        foreach (var id in await RuncContainersAsync(runcRoot))
        {
            await Shell.RunAsync("runc", ["--root", runcRoot, "delete", "--force", id]);
            foreach (var shim in ShimsOf(id)) HostProcesses.Kill(shim);
        }
        await Shell.UnmountUnderAsync(Directory);
        // Containers' cgroups first, then the parent (rmdir: a cgroup goes once it has no process and no child).
        foreach (var cgroup in CgroupsOf(CgroupParent))
            try { System.IO.Directory.Delete(cgroup); } catch (IOException) { }
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (DirectoryNotFoundException) { }
        // dockerd creates /run/docker/plugins (plugin sockets) whatever its exec root; empty, it goes again if we made it.
        if (!_runDockerExisted)
            foreach (var d in new[] { "/run/docker/plugins", "/run/docker" })
                try { System.IO.Directory.Delete(d); } catch (IOException) { }
    }

    private static async Task<IReadOnlyList<string>> RuncContainersAsync(string runcRoot) =>
        System.IO.Directory.Exists(runcRoot) ? Lines((await Shell.ExecAsync("runc", ["--root", runcRoot, "list", "-q"])).Stdout).ToList() : [];

    private static IEnumerable<string> Lines(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The shim of a container of ours: started by the containerd-API daemon with its address and the container's id.</summary>
    public IReadOnlyList<int> ShimsOf(string id) =>
        HostProcesses.All().Where(p => HostProcesses.IsShim(p) && p.CommandLine.Contains(ContainerdAddress) && p.CommandLine.Contains(id))
            .Select(p => p.Pid).ToList();

    /// <summary>Every shim serving this dockerd's namespace on its containerd-API daemon.</summary>
    public IReadOnlyList<int> Shims() =>
        HostProcesses.All().Where(p => HostProcesses.IsShim(p) && p.CommandLine.Contains(ContainerdAddress) && p.CommandLine.Contains(Namespace))
            .Select(p => p.Pid).ToList();

    /// <summary>What this dockerd has on the host now: its process, its containers' shims, mounts, cgroups.</summary>
    public Footprint Inventory() => Footprint.Of(Pid, Directory, CgroupParent, Shims());

    /// <summary>
    /// A dockerd's traces on the host: its pid, the live ones of <see cref="Shims"/>, mounts at or under its directory,
    /// its cgroup parent and the containers' cgroups in it (every hierarchy).
    /// </summary>
    public sealed record Footprint(int DockerdPid, string Directory, string CgroupParent, IReadOnlyList<int> Shims,
        IReadOnlyList<string> Mounts, IReadOnlyList<string> Cgroups)
    {
        public static Footprint Of(int dockerdPid, string directory, string cgroupParent, IEnumerable<int> shims) =>
            new(dockerdPid, directory, cgroupParent, shims.Where(HostProcesses.IsAlive).ToList(), Shell.MountPointsUnder(directory),
                CgroupsOf(cgroupParent));
    }

    private static IReadOnlyList<string> CgroupsOf(string parent) =>
        System.IO.Directory.EnumerateDirectories("/sys/fs/cgroup")
            .Select(h => Path.Combine(h, parent.TrimStart('/')))
            .Where(System.IO.Directory.Exists)
            .SelectMany(d => System.IO.Directory.EnumerateDirectories(d).Append(d))
            .ToList();

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
