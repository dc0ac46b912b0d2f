using System.Text.RegularExpressions;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Native;
using ActorRuntime.Testing;

namespace ActorRuntime.IntegrationTests.Daemon;

/// <summary>
/// The real dockerd 20.10 (<c>--containerd</c> our socket) driven by the real docker CLI (/usr/bin/docker) on the real
/// actorruntimed: every docker command dockerd turns into containerd calls, restarts of dockerd (live-restore) and of our
/// daemon. Each test has its own daemon (socket, root, state) and its own dockerd (its own directories, namespace moby
/// on our daemon); disposal removes dockerd's containers, stops both daemons and checks that no shim, mount, cgroup or
/// directory of theirs is left.
/// </summary>
public sealed class DockerOnActorRuntimedSpec : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly string _dir;
    private DaemonProcess? _daemon;
    private DockerDaemon? _docker;
    private readonly List<DockerDaemon.Footprint> _footprints = [];

    public DockerOnActorRuntimedSpec()
    {
        if (!Environment.IsPrivilegedProcess) throw new InvalidOperationException("integration tests must run as root");
        _dir = Path.Combine(ShimTestEnvironment.TestRoot, "docker-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_dir);
    }

    private string Address => Path.Combine(_dir, "actorruntimed.sock");

    private DockerDaemon Docker => _docker ?? throw new InvalidOperationException("dockerd did not start");

    private DaemonProcess Actorruntimed => _daemon ?? throw new InvalidOperationException("actorruntimed did not start");

    public Task InitializeAsync() => StartDaemonAsync();

    /// <summary>dockerd on our daemon, with <paramref name="flags"/> (e.g. --live-restore).</summary>
    private async Task<DockerDaemon> StartDockerAsync(params string[] flags) => _docker = await DockerDaemon.StartAsync(Address, flags);

    private async Task StartDaemonAsync()
    {
        _daemon = DaemonProcess.Start(Address, Path.Combine(_dir, "root"), Path.Combine(_dir, "state"));
        await _daemon.WaitServingAsync(Bound);
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (_docker is not null)
            {
                _footprints.Add(_docker.Inventory());
                await _docker.DisposeAsync();
            }
        }
        finally
        {
            var shims = HostProcesses.ShimsUnder(_dir);
            if (_daemon is not null) await _daemon.StopAsync(Bound);
            foreach (var shim in HostProcesses.ShimsUnder(_dir)) HostProcesses.Kill(shim.Pid);
            MountInfo.UnmountAllUnder(_dir);
            Directory.Delete(_dir, recursive: true);
            Assert.True(shims.Count == 0, "shims left after dockerd removed its containers: " +
                string.Join("; ", shims.Select(s => $"{s.Pid} {string.Join(' ', s.CommandLine)}")));
            foreach (var before in _footprints)
            {
                var left = DockerDaemon.Footprint.Of(before.DockerdPid, before.Directory, before.CgroupParent, before.Shims);
                Assert.False(HostProcesses.IsAlive(before.DockerdPid), "dockerd still runs");
                Assert.True(left.Mounts.Count == 0, "mounts left: " + string.Join(", ", left.Mounts));
                Assert.True(left.Cgroups.Count == 0, "cgroups left: " + string.Join(", ", left.Cgroups));
                Assert.False(Directory.Exists(before.Directory), $"{before.Directory} is still there");
            }
        }
    }

    private Task<string> Ok(params string[] args) => Docker.OkAsync(args);

    private Task<Shell.Result> Run(params string[] args) => Docker.RunAsync(args);

    /// <summary>A docker command line under <c>sh -c</c> (pipes) or <c>script -qec</c> (a terminal); stdout and status.</summary>
    private Task<Shell.Result> Sh(string commandLine) =>
        Shell.ExecAsync("sh", ["-c", $"{DockerDaemon.Cli} --config {Docker.Directory}/cli -H unix://{Docker.Socket} {commandLine}"], Bound);

    private Task<Shell.Result> InTerminal(string commandLine) =>
        Shell.ExecAsync("script", ["-qec", $"{DockerDaemon.Cli} --config {Docker.Directory}/cli -H unix://{Docker.Socket} {commandLine}", "/dev/null"],
            Bound);

    private async Task<string> Inspect(string id, string format) => (await Ok("inspect", "-f", format, id)).Trim();

    private async Task<(string Id, int Pid)> RunDetachedAsync(params string[] command)
    {
        var id = (await Ok(["run", "-d", DockerDaemon.Image, .. command])).Trim();
        return (id, int.Parse(await Inspect(id, "{{.State.Pid}}"), System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>What dockerd says of a container: its status and exit code.</summary>
    private async Task<string> StateOf(string id) => await Inspect(id, "{{.State.Status}} {{.State.ExitCode}}");

    /// <summary>The "die" events dockerd logged for a container: one per exit it handled.</summary>
    private async Task<int> DiesOf(string id, DateTimeOffset since) =>
        (await Ok("events", "--since", since.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--until", DateTimeOffset.UtcNow.AddSeconds(1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--filter", "container=" + id, "--filter", "event=die", "--format", "{{.Status}}"))
        .Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    /// <summary>Our daemon's version and revision, as ctr shows them.</summary>
    private async Task<(string Version, string Revision)> DaemonVersion()
    {
        var version = await Ctr.OkAsync(Address, "version");
        var server = version[version.IndexOf("Server:", StringComparison.Ordinal)..];
        return (Regex.Match(server, @"Version:\s+(\S+)").Groups[1].Value, Regex.Match(server, @"Revision:\s+(\S+)").Groups[1].Value);
    }

    [Fact]
    public async Task Docker_info_and_version_show_actorruntimed_as_the_containerd_component()
    {
        await StartDockerAsync();
        var (version, revision) = await DaemonVersion();
        // docker info names containerd by its revision (commit), docker version by version and revision.
        Assert.Contains($" containerd version: {revision}\n", await Ok("info"));
        Assert.Matches($@" containerd:\s+Version:\s+{Regex.Escape(version)}\s+GitCommit:\s+{Regex.Escape(revision)}\s", await Ok("version"));
    }

    [Fact]
    public async Task Run_rm_prints_the_output_and_exits_with_the_commands_status_zero_or_not()
    {
        await StartDockerAsync();
        var hi = await Run("run", "--rm", DockerDaemon.Image, "echo", "hi");
        Assert.True(hi.Code == 0, hi.ToString());
        Assert.Equal("hi\n", hi.Stdout);
        var three = await Run("run", "--rm", DockerDaemon.Image, "sh", "-c", "echo out; exit 3");
        Assert.True(three.Code == 3, three.ToString());
        Assert.Equal("out\n", three.Stdout);
        Assert.Equal("", (await Ok("ps", "-aq")).Trim());
    }

    [Fact]
    public async Task A_detached_container_execs_with_and_without_stdin_and_a_terminal_pauses_and_shows_in_top_stats_logs_and_attach()
    {
        await StartDockerAsync();
        var (id, pid) = await RunDetachedAsync("sh", "-c", "i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done");
        Assert.Equal("running 0", await StateOf(id));

        Assert.Equal("in exec\n", await Ok("exec", id, "echo", "in", "exec"));
        var seven = await Run("exec", id, "sh", "-c", "exit 7");
        Assert.True(seven.Code == 7, seven.ToString());
        // stdin piped and closed: CloseIO reaches cat only after everything written, and all of it comes back.
        var piped = await Sh($"exec -i {id} sh -c 'cat; echo done' < /etc/services");
        Assert.True(piped.Code == 0, piped.ToString());
        Assert.Equal(await File.ReadAllTextAsync("/etc/services") + "done\n", piped.Stdout);
        var tty = await InTerminal($"exec -t {id} sh -c 'tty; echo on-a-terminal'");
        Assert.True(tty.Code == 0, tty.ToString());
        Assert.Matches(@"/dev/pts/\d+\r*\non-a-terminal", tty.Stdout);

        await Ok("pause", id);
        Assert.Contains("(Paused)", await Ok("ps", "--filter", "id=" + id, "--format", "{{.Status}}"));
        Assert.Equal("paused", await Inspect(id, "{{.State.Status}}"));
        await Ok("unpause", id);
        Assert.DoesNotContain("Paused", await Ok("ps", "--filter", "id=" + id, "--format", "{{.Status}}"));

        var top = await Ok("top", id);
        Assert.Contains(top.Split('\n'), l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, var p, ..] && p == pid.ToString());
        var memory = (await Ok("stats", "--no-stream", "--format", "{{.MemUsage}}", id)).Trim();
        Assert.Matches(@"^[1-9][0-9.]*[KMG]iB / ", memory);

        await EventuallyAsync(async () => (await Ok("logs", id)).Contains("tick3"), "the container's output in docker logs", Bound);
        Assert.StartsWith("tick0\ntick1\n", await Ok("logs", id));
        // attach sees what the container prints from now on; the CLI is stopped by the bound.
        var attached = await Shell.ExecAsync("sh", ["-c",
            $"timeout -s KILL 3 {DockerDaemon.Cli} --config {Docker.Directory}/cli -H unix://{Docker.Socket} attach --no-stdin {id}"], Bound);
        Assert.Matches(@"tick\d+\n", attached.Stdout);

        await Ok("rm", "-f", id);
        Assert.Equal("", (await Ok("ps", "-aq")).Trim());
        await EventuallyAsync(() => !Docker.ShimsOf(id).Any(), "the container's shim to exit", Bound);
    }

    [Fact]
    public async Task Kill_stop_restart_and_wait_report_the_exit_statuses_docker_reports_on_containerd()
    {
        await StartDockerAsync();
        var (killed, _) = await RunDetachedAsync("sleep", "1000");
        await Ok("kill", killed);
        Assert.Equal("137", (await Ok("wait", killed)).Trim());
        Assert.Equal("exited 137", await StateOf(killed));

        // sh ignores SIGTERM as pid 1 without a handler: stop kills it after the timeout (137); with a handler, 143.
        var (stubborn, _) = await RunDetachedAsync("sleep", "1000");
        await Ok("stop", "-t", "1", stubborn);
        Assert.Equal("exited 137", await StateOf(stubborn));
        var (polite, _) = await RunDetachedAsync("sh", "-c", "trap 'exit 143' TERM; while true; do sleep 0.1; done");
        await Ok("stop", "-t", "10", polite);
        Assert.Equal("exited 143", await StateOf(polite));

        var (restarted, before) = await RunDetachedAsync("sleep", "1000");
        await Ok("restart", "-t", "1", restarted);
        Assert.Equal("running 0", await StateOf(restarted));
        Assert.NotEqual(before.ToString(), await Inspect(restarted, "{{.State.Pid}}"));
        Assert.False(HostProcesses.IsAlive(before));

        var (five, _) = await RunDetachedAsync("sh", "-c", "sleep 1; exit 5");
        Assert.Equal("5", (await Ok("wait", five)).Trim());
        Assert.Equal("exited 5", await StateOf(five));
    }

    [Fact]
    public async Task A_restart_always_container_whose_process_exits_comes_back_with_a_growing_restart_count()
    {
        await StartDockerAsync();
        var id = (await Ok("run", "-d", "--restart=always", DockerDaemon.Image, "sh", "-c", "sleep 1; exit 2")).Trim();
        await EventuallyAsync(async () => int.Parse(await Inspect(id, "{{.RestartCount}}"), System.Globalization.CultureInfo.InvariantCulture) >= 2, "two restarts", Bound);
        await EventuallyAsync(async () => await Inspect(id, "{{.State.Status}}") == "running", "the container running again", Bound);
        await Ok("rm", "-f", id);
    }

    [Fact]
    public async Task With_live_restore_a_container_outlives_a_dockerd_restart_and_its_later_exit_is_seen_with_its_status()
    {
        await StartDockerAsync("--live-restore");
        var (id, pid) = await RunDetachedAsync("sh", "-c", "trap 'exit 9' USR1; while true; do sleep 0.1; done");
        _footprints.Add(Docker.Inventory());
        await Docker.RestartAsync();
        Assert.True(HostProcesses.IsAlive(pid), "the container's process died with dockerd");
        Assert.Equal($"running 0 {pid}", await Inspect(id, "{{.State.Status}} {{.State.ExitCode}} {{.State.Pid}}"));

        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        Assert.Equal(0, Signal(pid, 10)); // SIGUSR1
        Assert.Equal("9", (await Ok("wait", id)).Trim());
        Assert.Equal("exited 9", await StateOf(id));
        Assert.Equal(1, await DiesOf(id, since));
    }

    [Fact]
    public async Task After_actorruntimed_is_SIGKILLed_and_restarted_dockerd_works_on_and_sees_once_the_exit_that_happened_in_the_gap()
    {
        // --debug: dockerd logs every event it receives ("msg=event ... topic=/tasks/exit"), so what it got is counted.
        await StartDockerAsync("--debug");
        var (gone, pid) = await RunDetachedAsync("sh", "-c", "trap 'exit 6' USR1; while true; do sleep 0.1; done");
        var (alive, _) = await RunDetachedAsync("sleep", "1000");
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        Assert.Equal(0, ExitsReceived());

        Actorruntimed.Signal(9);
        await Actorruntimed.WaitExitAsync(Bound);
        await Actorruntimed.DisposeAsync();
        Assert.Equal(0, Signal(pid, 10)); // SIGUSR1: the process exits while nobody watches its shim
        await HostProcesses.WaitUntilGoneAsync(pid, Bound);
        await StartDaemonAsync();

        // dockerd re-subscribes on its own (Health, then Subscribe) and is told of the exit it missed.
        await EventuallyAsync(async () => await StateOf(gone) == "exited 6", "dockerd to see the exit of the gap", Bound,
            () => Docker.Log());
        var after = await Run("run", "--rm", DockerDaemon.Image, "echo", "after");
        Assert.True(after.Code == 0, after.ToString());
        Assert.Equal("after\n", after.Stdout);
        Assert.Equal("running 0", await StateOf(alive));
        await Ok("stop", "-t", "1", alive);
        Assert.Equal("exited 137", await StateOf(alive));

        // Exactly three exits reached dockerd: the gap's (once), the new run's and the stopped one's.
        await EventuallyAsync(() => ExitsReceived() >= 3, "dockerd to log the three exits", Bound);
        Assert.Equal(3, ExitsReceived());
        Assert.Equal(1, await DiesOf(gone, since));
    }

    /// <summary>The /tasks/exit events dockerd (with --debug) logged receiving on its moby subscription.</summary>
    private int ExitsReceived() =>
        Docker.Log().Split('\n').Count(l => l.Contains("msg=event") && l.Contains("namespace=moby") && l.Contains("topic=/tasks/exit"));

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Signal(int pid, int signal);
}
