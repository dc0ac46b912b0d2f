using System.Diagnostics;
using System.Security.Cryptography;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Native;
using ActorRuntime.Testing;

namespace ActorRuntime.IntegrationTests.Daemon;

/// <summary>
/// The real ctr (containerd 1.6.20's client) running containers on the real actorruntimed with <c>--rootfs</c>: run in
/// the foreground and detached, with and without a terminal, and every <c>task</c> and <c>container</c> command on the
/// result. Each test has its own daemon, socket, state and copy of the busybox rootfs; container ids carry a random
/// suffix (runc's root is shared per namespace with other workers). ctr --rootfs sets no PATH, so commands are absolute.
/// </summary>
public sealed class CtrTasksSpec : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly string _dir;
    private readonly string _suffix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
    private readonly List<(string Namespace, string Id)> _ids = [];
    private DaemonProcess? _daemon;

    public CtrTasksSpec()
    {
        if (!Environment.IsPrivilegedProcess) throw new InvalidOperationException("integration tests must run as root");
        _dir = Path.Combine(ShimTestEnvironment.TestRoot, "ctr-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_dir);
    }

    private string Address => Path.Combine(_dir, "actorruntimed.sock");
    private string Rootfs => Path.Combine(_dir, "rootfs");

    /// <summary>A container id of this test, cleaned up afterwards whatever happened to it.</summary>
    private string Id(string name, string ns = "default")
    {
        var id = $"{name}-{_suffix}";
        _ids.Add((ns, id));
        return id;
    }

    private Task<string> Ok(params string[] args) => Ctr.OkAsync(Address, args);

    private Task<Shell.Result> Run(params string[] args) => Ctr.RunAsync(Address, args);

    public async Task InitializeAsync()
    {
        // Our own copy: runc creates mount points in a rootfs it is given, and other workers use the shared image.
        Assert.Equal(0, HostProcesses.Run("cp", "-a", ShimTestEnvironment.ImageDirectory, Rootfs).ExitCode);
        _daemon = DaemonProcess.Start(Address, Path.Combine(_dir, "root"), Path.Combine(_dir, "state"));
        await _daemon.WaitServingAsync(Bound);
    }

    public async Task DisposeAsync()
    {
        // Through the daemon first, as a user would; then whatever a failed test left behind, by force.
        foreach (var (ns, id) in _ids)
        {
            await Run("-n", ns, "task", "kill", "-s", "SIGKILL", id);
            await Run("-n", ns, "task", "delete", id);
            await Run("-n", ns, "container", "delete", id);
        }
        var shims = HostProcesses.ShimsUnder(_dir);
        if (_daemon is not null) await _daemon.StopAsync(Bound);
        foreach (var shim in HostProcesses.ShimsUnder(_dir)) HostProcesses.Kill(shim.Pid);
        foreach (var group in _ids.GroupBy(x => x.Namespace)) RuncNamespace.Remove(group.Key, group.Select(x => x.Id));
        MountInfo.UnmountAllUnder(_dir);
        Directory.Delete(_dir, recursive: true);
        Assert.True(shims.Count == 0, "shims left after the containers were deleted: " +
            string.Join("; ", shims.Select(s => $"{s.Pid} {string.Join(' ', s.CommandLine)}")));
    }

    /// <summary>ctr under <c>script</c>, which gives it a pseudo terminal (for -t) and exits with its status.</summary>
    private async Task<(int ExitCode, string Output)> InTerminal(string ctrArguments)
    {
        var start = new ProcessStartInfo("script") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-qec", $"ctr -a {Address} {ctrArguments}", "/dev/null" }) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Bound);
        return (process.ExitCode, await output + await error);
    }

    private async Task<string> TaskLine(string id, string ns = "default") =>
        (await Ok("-n", ns, "task", "ls")).Split('\n').FirstOrDefault(l => l.StartsWith(id + " ", StringComparison.Ordinal)) ?? "";

    [Fact]
    public async Task Run_rm_prints_the_output_exits_with_the_commands_status_and_leaves_nothing()
    {
        var echo = Id("echo");
        var run = await Run("run", "--rm", "--rootfs", Rootfs, echo, "/bin/echo", "hi");
        Assert.True(run.Code == 0, run.ToString());
        Assert.Equal("hi\n", run.Stdout);

        var three = Id("three");
        var failed = await Run("run", "--rm", "--rootfs", Rootfs, three, "/bin/sh", "-c", "exit 3");
        Assert.True(failed.Code == 3, failed.ToString());

        Assert.DoesNotContain(echo, await Ok("container", "ls"));
        Assert.DoesNotContain(three, await Ok("container", "ls"));
        Assert.DoesNotContain(echo, await Ok("task", "ls"));
    }

    [Fact]
    public async Task A_detached_task_is_listed_exec_d_paused_resumed_measured_killed_and_deleted()
    {
        var id = Id("detached");
        await Ok("run", "-d", "--rootfs", Rootfs, id, "/bin/sleep", "300");
        Assert.Matches(@"\s\d+\s+RUNNING", await TaskLine(id));
        var pid = (await TaskLine(id)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        Assert.Contains(pid, await Ok("task", "ps", id));

        Assert.Equal("in\n", await Ok("task", "exec", "--exec-id", "in-" + _suffix, id, "/bin/echo", "in"));
        var execFailed = await Run("task", "exec", "--exec-id", "seven-" + _suffix, id, "/bin/sh", "-c", "exit 7");
        Assert.True(execFailed.Code == 7, execFailed.ToString());

        await Ok("task", "pause", id);
        Assert.Contains("PAUSED", await TaskLine(id));
        await Ok("task", "resume", id);
        Assert.Contains("RUNNING", await TaskLine(id));

        var metrics = await Ok("task", "metrics", id);
        var usage = metrics.Split('\n').Single(l => l.StartsWith("memory.usage_in_bytes", StringComparison.Ordinal));
        Assert.True(ulong.Parse(usage.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) > 0, metrics);

        Assert.Contains(id + " ", await Ok("container", "ls"));
        var info = await Ok("container", "info", id);
        Assert.Contains("\"Name\": \"io.containerd.runc.v2\"", info);
        Assert.Contains("\"type_url\": \"containerd.runc.v1.Options\"", info);
        Assert.Contains("/bin/sleep", info);
        Assert.Contains(Rootfs, info);

        // ctr itself refuses to delete a running task, or a container whose task runs (it asks Tasks.Get first).
        Assert.NotEqual(0, (await Run("task", "delete", id)).Code);
        Assert.NotEqual(0, (await Run("container", "delete", id)).Code);

        await Ok("task", "kill", "-s", "SIGKILL", id);
        await EventuallyAsync(async () => (await TaskLine(id)).Contains("STOPPED"), "the killed task to stop", Bound);
        var deleted = await Run("task", "delete", id);
        Assert.True(deleted.Code == 0, deleted.ToString());
        Assert.Contains("exit code 137", deleted.Stderr);
        Assert.Equal("", await TaskLine(id));
        await Ok("container", "delete", id);
        Assert.DoesNotContain(id, await Ok("container", "ls"));
    }

    [Fact]
    public async Task Run_t_and_exec_t_give_the_process_a_terminal_and_pass_its_status()
    {
        var id = Id("tty");
        var run = await InTerminal($"run --rm -t --rootfs {Rootfs} {id} /bin/sh -c 'tty; exit 4'");
        Assert.True(run.ExitCode == 4, run.Output);
        Assert.Contains("/dev/pts/", run.Output);

        var detached = Id("ttyexec");
        await Ok("run", "-d", "--rootfs", Rootfs, detached, "/bin/sleep", "300");
        var exec = await InTerminal($"task exec -t --exec-id t-{_suffix} {detached} /bin/sh -c 'tty; exit 5'");
        Assert.True(exec.ExitCode == 5, exec.Output);
        Assert.Contains("/dev/pts/", exec.Output);
    }

    [Fact]
    public async Task Checkpoint_reaches_the_shim_whose_error_comes_back_and_the_task_keeps_running()
    {
        var id = Id("checkpoint");
        await Ok("run", "-d", "--rootfs", Rootfs, id, "/bin/sleep", "300");
        var checkpoint = await Run("task", "checkpoint", id);
        Assert.NotEqual(0, checkpoint.Code);
        // criu is missing or cannot run in this VM: runc's own words come back through the shim.
        Assert.Contains("criu", checkpoint.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("RUNNING", await TaskLine(id));
    }

    [Fact]
    public async Task Containers_and_tasks_of_another_namespace_are_seen_only_there()
    {
        var ns = "ns-" + _suffix;
        var id = Id("elsewhere", ns);
        var run = await Run("-n", ns, "run", "--rm", "--rootfs", Rootfs, Id("once", ns), "/bin/echo", "there");
        Assert.True(run.Code == 0 && run.Stdout == "there\n", run.ToString());

        await Ok("-n", ns, "run", "-d", "--rootfs", Rootfs, id, "/bin/sleep", "300");
        Assert.Contains("RUNNING", await TaskLine(id, ns));
        Assert.DoesNotContain(id, await Ok("container", "ls"));
        Assert.Contains(id, await Ok("-n", ns, "container", "ls"));
        Assert.NotEqual(0, (await Run("task", "kill", id)).Code);

        await Ok("-n", ns, "task", "kill", "-s", "SIGKILL", id);
        await EventuallyAsync(async () => (await TaskLine(id, ns)).Contains("STOPPED"), "the killed task to stop", Bound);
        await Ok("-n", ns, "task", "delete", id);
        await Ok("-n", ns, "container", "delete", id);
        Assert.DoesNotContain(id, await Ok("-n", ns, "container", "ls"));
    }

    /// <summary>
    /// ctr removes an exec's FIFO directory (/run/containerd/fifo/&lt;random&gt;) only when its deferred DeleteProcess
    /// succeeds, and that Delete follows Tasks.Wait's answer at once: Wait must answer only when the exec can be deleted.
    /// The directories are told apart from other users' by the FIFOs in them, named after our exec ids.
    /// </summary>
    [Fact]
    public async Task Bursts_of_concurrent_execs_each_exit_and_leave_no_fifo_directory()
    {
        var id = Id("bursts");
        await Ok("run", "-d", "--rootfs", Rootfs, id, "/bin/sleep", "300");
        const string fifoRoot = "/run/containerd/fifo";
        var execs = new List<string>();
        for (var burst = 0; burst < 3; burst++)
        {
            var ids = Enumerable.Range(0, 20).Select(n => $"b{burst}-{n}-{_suffix}").ToList();
            execs.AddRange(ids);
            var runs = await Task.WhenAll(ids.Select(e => Run("task", "exec", "--exec-id", e, id, "/bin/sh", "-c", $"exit {execs.IndexOf(e) % 7}")));
            for (var n = 0; n < runs.Length; n++)
                Assert.True(runs[n].Code == execs.IndexOf(ids[n]) % 7, $"{ids[n]}: {runs[n]}");
        }
        var left = Directory.Exists(fifoRoot)
            ? Directory.EnumerateDirectories(fifoRoot)
                .Where(d => Directory.EnumerateFileSystemEntries(d).Any(f => execs.Any(e => Path.GetFileName(f).StartsWith(e + "-", StringComparison.Ordinal))))
                .ToList()
            : [];
        foreach (var dir in left) Directory.Delete(dir, recursive: true);
        Assert.True(left.Count == 0, $"{left.Count} of {execs.Count} execs left their FIFO directory: {string.Join(", ", left)}\n{_daemon!.Stderr}");
        Assert.DoesNotContain(execs[0], await Ok("task", "ps", id));
    }
}
