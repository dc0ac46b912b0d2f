using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Testing;

namespace ActorRuntime.IntegrationTests.Cli;

/// <summary>
/// The built arctl.dll run as a process, with the runtime in-process (--embedded) and against a real actorruntimed: run's
/// output and exit status, a detached container's life, --json, namespaces, errors, the root lock, and `run -it` and `exec -it` in tmux.
/// Each test has its own root, state directory and container ids, all removed afterwards.
/// </summary>
public sealed class ArctlSpec : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    private static string Dll => typeof(ArctlSpec).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "ArctlDll").Value!;

    private readonly string _dir;
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private readonly List<(string Mode, string Namespace, string Id)> _created = [];
    private DaemonProcess? _daemon;

    public ArctlSpec()
    {
        if (!Environment.IsPrivilegedProcess) throw new InvalidOperationException("integration tests must run as root");
        _dir = Path.Combine(ShimTestEnvironment.TestRoot, "arctl-" + _suffix);
        Directory.CreateDirectory(_dir);
    }

    private string Root => Path.Combine(_dir, "root");
    private string State => Path.Combine(_dir, "state");
    private string Address => Path.Combine(_dir, "actorruntimed.sock");

    private string Id(string mode, string name, string ns = "default")
    {
        var id = $"{name}-{_suffix}";
        _created.Add((mode, ns, id));
        return id;
    }

    private async Task<string[]> GlobalArgsAsync(string mode)
    {
        if (mode == "embedded") return ["--embedded", "--root", Root, "--state", State];
        if (_daemon is null)
        {
            _daemon = DaemonProcess.Start(Address, Path.Combine(_dir, "daemon-root"), Path.Combine(_dir, "daemon-state"));
            await _daemon.WaitServingAsync(Bound);
        }
        return ["--address", Address, "--root", Root, "--state", State];
    }

    private static ProcessStartInfo StartInfo(IEnumerable<string> args, bool stdin)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin,
            UseShellExecute = false,
        };
        start.Environment["DOTNET_EnableDiagnostics"] = "0";
        start.Environment.Remove("ACTORRUNTIME_ADDRESS");
        foreach (var arg in args.Prepend(Dll)) start.ArgumentList.Add(arg);
        return start;
    }

    private async Task<Shell.Result> ArctlAsync(string mode, params string[] args)
    {
        using var process = Process.Start(StartInfo([.. await GlobalArgsAsync(mode), .. args], stdin: false))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(Bound);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"arctl {string.Join(' ', args)} did not finish within {Bound}: {await stderr}");
        }
        return new Shell.Result(process.ExitCode, await stdout, await stderr);
    }

    private async Task<Shell.Result> OkAsync(string mode, params string[] args)
    {
        var result = await ArctlAsync(mode, args);
        Assert.True(result.Code == 0, $"arctl {string.Join(' ', args)}: {result}");
        return result;
    }

    private async Task<JsonElement?> PsRowAsync(string mode, string id, string ns = "default")
    {
        var ps = await OkAsync(mode, "ps", "--json", "-n", ns);
        foreach (var row in JsonDocument.Parse(ps.Stdout).RootElement.EnumerateArray())
            if (row.GetProperty("id").GetString() == id) return row.Clone();
        return null;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var (mode, ns, id) in _created)
        {
            try
            {
                await ArctlAsync(mode, "rm", "-f", "-n", ns, id);
            }
            catch (TimeoutException)
            {
                // Left for the unmount below; the spec already failed.
            }
        }
        if (_daemon is not null) await _daemon.StopAsync(Bound);
        foreach (var group in _created.GroupBy(c => c.Namespace)) RuncNamespace.Remove(group.Key, group.Select(c => c.Id));
        await Shell.UnmountUnderAsync(_dir);
        Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [InlineData("embedded")]
    [InlineData("daemon")]
    public async Task Run_rm_prints_the_containers_output_and_exits_with_its_status(string mode)
    {
        var id = Id(mode, "exit");

        var run = await ArctlAsync(mode, "run", "--rm", id, "sh", "-c", "echo to-out; echo to-err >&2; exit 42");

        Assert.True(run.Code == 42, run.ToString());
        Assert.Equal("to-out\n", run.Stdout);
        Assert.Contains("to-err", run.Stderr);
        Assert.Null(await PsRowAsync(mode, id));
    }

    [Theory]
    [InlineData("embedded")]
    [InlineData("daemon")]
    public async Task A_detached_container_is_listed_logged_execed_killed_and_removed_with_its_log(string mode)
    {
        var id = Id(mode, "detached");

        await OkAsync(mode, "run", "-d", "-l", "team=x", id, "sh", "-c", "echo started; exec sleep 300");

        var row = await PsRowAsync(mode, id);
        Assert.NotNull(row);
        Assert.Equal("running", row.Value.GetProperty("status").GetString());
        Assert.True(row.Value.GetProperty("pid").GetUInt32() > 0);
        Assert.Equal("x", row.Value.GetProperty("labels").GetProperty("team").GetString());
        await EventuallyAsync(async () => (await OkAsync(mode, "logs", id)).Stdout == "started\n", $"the log of {id}", Bound);

        var exec = await ArctlAsync(mode, "exec", id, "sh", "-c", "echo in-exec; exit 3");
        Assert.True(exec.Code == 3, exec.ToString());
        Assert.Equal("in-exec\n", exec.Stdout);

        await OkAsync(mode, "kill", "-s", "KILL", id);
        await EventuallyAsync(async () => (await PsRowAsync(mode, id))?.GetProperty("status").GetString() == "stopped",
            $"{id} stopped", Bound);
        await OkAsync(mode, "rm", "-f", id);

        Assert.Null(await PsRowAsync(mode, id));
        Assert.False(File.Exists(Path.Combine(Root, "arctl", "logs", "default", id + ".log")));
    }

    [Theory]
    [InlineData("embedded")]
    [InlineData("daemon")]
    public async Task A_container_is_seen_only_in_its_own_namespace(string mode)
    {
        var id = Id(mode, "ns", ns: "team-a");

        await OkAsync(mode, "-n", "team-a", "run", "-d", id, "sleep", "300");

        Assert.NotNull(await PsRowAsync(mode, id, "team-a"));
        Assert.Null(await PsRowAsync(mode, id, "team-b"));
        var missing = await ArctlAsync(mode, "-n", "team-b", "inspect", id);
        Assert.NotEqual(0, missing.Code);
        await OkAsync(mode, "-n", "team-a", "rm", "-f", id);
    }

    [Theory]
    [InlineData("embedded")]
    [InlineData("daemon")]
    public async Task An_unknown_container_is_a_NotFound_on_stderr_with_a_non_zero_status(string mode)
    {
        var result = await ArctlAsync(mode, "inspect", "nowhere-" + _suffix);

        Assert.NotEqual(0, result.Code);
        Assert.Equal("", result.Stdout);
        Assert.Contains("NotFound", result.Stderr);
        Assert.Contains("nowhere-" + _suffix, result.Stderr);
    }

    [Fact]
    public async Task A_second_embedded_arctl_on_the_same_root_is_refused_and_says_what_to_do()
    {
        var id = Id("embedded", "lock");
        using var first = Process.Start(StartInfo(
            [.. await GlobalArgsAsync("embedded"), "run", "--rm", "-i", id, "sh", "-c", "echo ready; cat"], stdin: true))!;
        var firstErr = first.StandardError.ReadToEndAsync();
        try
        {
            // The first holds the root from its start until it exits, and cat waits on its stdin.
            Assert.Equal("ready", await first.StandardOutput.ReadLineAsync().WaitAsync(Bound));

            var second = await ArctlAsync("embedded", "ps");

            Assert.NotEqual(0, second.Code);
            Assert.Equal("", second.Stdout);
            Assert.Contains($"root {Root} is in use", second.Stderr);
            Assert.Contains("--address", second.Stderr);

            await first.StandardInput.WriteAsync("through-stdin\n");
            first.StandardInput.Close();
            var rest = first.StandardOutput.ReadToEndAsync();
            await first.WaitForExitAsync().WaitAsync(Bound);
            Assert.True(first.ExitCode == 0, await firstErr);
            Assert.Equal("through-stdin\n", await rest);
        }
        finally
        {
            if (!first.HasExited) first.Kill(entireProcessTree: true);
        }
        Assert.Equal("[]", (await OkAsync("embedded", "ps", "--json")).Stdout.Trim());
    }

    [Fact]
    public async Task Run_it_gives_an_interactive_busybox_shell_in_a_real_terminal()
    {
        var id = Id("embedded", "tty");
        await InteractiveShellAsync([.. await GlobalArgsAsync("embedded"), "run", "-it", "--rm", id, "sh"]);
        Assert.Equal("[]", (await OkAsync("embedded", "ps", "--json")).Stdout.Trim());
    }

    /// <summary>Over the daemon, since the container runs on while the execs come and go.</summary>
    [Fact]
    public async Task Exec_i_takes_piped_input_whole_and_exec_it_gives_a_shell_in_a_running_container()
    {
        var id = Id("daemon", "exec");
        await OkAsync("daemon", "run", "-d", id, "sleep", "300");

        // The input is written and closed at once, before the exec has started: it must wait in the FIFO for the shim.
        using (var piped = Process.Start(StartInfo([.. await GlobalArgsAsync("daemon"), "exec", "-i", id, "sh", "-c", "cat; echo end"], stdin: true))!)
        {
            var output = piped.StandardOutput.ReadToEndAsync();
            var errors = piped.StandardError.ReadToEndAsync();
            await piped.StandardInput.WriteAsync("piped-line\n");
            piped.StandardInput.Close();
            await piped.WaitForExitAsync().WaitAsync(Bound);
            Assert.True(piped.ExitCode == 0, await errors);
            Assert.Equal("piped-line\nend\n", await output);
        }

        await InteractiveShellAsync([.. await GlobalArgsAsync("daemon"), "exec", "-it", id, "sh"]);
        await OkAsync("daemon", "rm", "-f", id);
        Assert.Null(await PsRowAsync("daemon", id));
    }

    /// <summary>arctl with <paramref name="arctlArgs"/> in a tmux terminal: a shell prompt, a command typed and its output seen, `exit` ending it all.</summary>
    private async Task InteractiveShellAsync(string[] arctlArgs)
    {
        var socket = "arctl-" + _suffix;
        var command = string.Join(' ', new[] { "dotnet", Dll }.Concat(arctlArgs));
        Task<string> Pane() => Shell.CheckAsync("tmux", "-L", socket, "capture-pane", "-p", "-t", socket);
        try
        {
            await Shell.CheckAsync("tmux", "-L", socket, "new-session", "-d", "-s", socket, "-x", "120", "-y", "40",
                "DOTNET_EnableDiagnostics=0 " + command);
            await EventuallyAsync(async () => (await Pane()).Contains('#'), "the shell's prompt", Bound);

            await Shell.CheckAsync("tmux", "-L", socket, "send-keys", "-t", socket, "echo hi-$((40+2))", "Enter");
            var pane = "";
            await EventuallyAsync(async () => (pane = await Pane()).Contains("hi-42"), "hi-42 on the terminal", Bound, () => pane);
            await Shell.CheckAsync("tmux", "-L", socket, "send-keys", "-t", socket, "exit", "Enter");

            await EventuallyAsync(async () => (await Shell.RunAsync("tmux", ["-L", socket, "has-session", "-t", socket])).Code != 0,
                "the tmux session to end with the shell", Bound);
        }
        finally
        {
            await Shell.RunAsync("tmux", ["-L", socket, "kill-server"]);
        }
    }

    [Theory]
    [InlineData("embedded")]
    [InlineData("daemon")]
    public async Task Env_cwd_user_pause_resume_top_stats_inspect_and_version_report_a_running_container(string mode)
    {
        var id = Id(mode, "inspected");
        await OkAsync(mode, "run", "-d", "-e", "GREETING=hi", "-w", "/tmp", "-u", "1000:1000", id,
            "sh", "-c", "echo \"$GREETING $(pwd) $(id -u)\"; exec sleep 300");
        await EventuallyAsync(async () => (await OkAsync(mode, "logs", id)).Stdout == "hi /tmp 1000\n", $"the log of {id}", Bound);
        var pid = (await PsRowAsync(mode, id))!.Value.GetProperty("pid").GetUInt32();

        await OkAsync(mode, "pause", id);
        Assert.Equal("paused", (await PsRowAsync(mode, id))!.Value.GetProperty("status").GetString());
        await OkAsync(mode, "resume", id);
        Assert.Equal("running", (await PsRowAsync(mode, id))!.Value.GetProperty("status").GetString());

        var top = JsonDocument.Parse((await OkAsync(mode, "top", "--json", id)).Stdout).RootElement;
        Assert.Contains(top.EnumerateArray(), p => p.GetProperty("pid").GetUInt32() == pid && p.GetProperty("command").GetString() == "sleep 300");
        var stats = Assert.Single(JsonDocument.Parse((await OkAsync(mode, "stats", "--no-stream", "--json", id)).Stdout).RootElement.EnumerateArray());
        Assert.Equal(id, stats.GetProperty("id").GetString());
        Assert.True(stats.GetProperty("memoryUsageBytes").GetInt64() > 0 && stats.GetProperty("pids").GetInt32() == 1, stats.ToString());
        var inspect = JsonDocument.Parse((await OkAsync(mode, "inspect", "--json", id)).Stdout).RootElement;
        Assert.Equal((id, "running", 1000), (inspect.GetProperty("id").GetString(), inspect.GetProperty("status").GetString(),
            inspect.GetProperty("spec").GetProperty("process").GetProperty("user").GetProperty("uid").GetInt32()));
        var version = JsonDocument.Parse((await OkAsync(mode, "version", "--json")).Stdout).RootElement;
        Assert.Equal("actorruntime", version.GetProperty("revision").GetString());
        Assert.Contains("default", (await OkAsync(mode, "namespaces", "--json")).Stdout);
        await OkAsync(mode, "rm", "-f", id);
    }

    /// <summary>
    /// Live views run next to other commands, so over the daemon (two in-process arctls never share a root): events as
    /// they happen and replayed after an offset, Ctrl-C forwarded to a foreground container, live stats until Ctrl-C.
    /// </summary>
    [Fact]
    public async Task Events_stream_live_and_after_an_offset_and_Ctrl_C_reaches_the_foreground_container()
    {
        var id = Id("daemon", "interrupted");
        await using var events = await LiveAsync("events", "--json", "--filter", $"container={id}");
        await Task.Delay(TimeSpan.FromSeconds(1)); // the subscription is made before the container exists (no offset given)

        await using (var run = await LiveAsync("run", "--rm", id, "sh", "-c", "trap 'echo got-int; exit 5' INT; echo ready; while true; do sleep 0.1; done"))
        {
            await EventuallyAsync(() => run.Lines.Contains("ready"), "the container's first line", Bound, run.ToString);
            run.Interrupt();
            Assert.Equal(5, await run.ExitAsync());
            Assert.Contains("got-int", run.Lines);
        }
        await EventuallyAsync(() => events.Lines.Count(l => l.Contains("\"kind\":\"delete\"")) == 1, "the delete event", Bound, events.ToString);
        events.Interrupt();
        Assert.Equal(0, await events.ExitAsync());
        var live = events.Lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["create", "start", "exit", "delete"], live.Select(e => e.GetProperty("kind").GetString()));
        Assert.Equal(5, live[2].GetProperty("exitStatus").GetInt32());

        var since = live[0].GetProperty("offset").GetInt64();
        await using var replay = await LiveAsync("events", "--json", "--since", since.ToString(), "--filter", $"container={id}");
        await EventuallyAsync(() => replay.Lines.Count == 3, "the three events after the create's offset", Bound, replay.ToString);
        replay.Interrupt();
        Assert.Equal(0, await replay.ExitAsync());
        Assert.Equal(["start", "exit", "delete"], replay.Lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("kind").GetString()));

        var watched = Id("daemon", "watched");
        await OkAsync("daemon", "run", "-d", watched, "sleep", "300");
        await using var stats = await LiveAsync("stats", "--json", watched);
        await EventuallyAsync(() => stats.Lines.Count >= 2, "two live samples", Bound, stats.ToString);
        stats.Interrupt();
        Assert.Equal(0, await stats.ExitAsync());
        Assert.All(stats.Lines, l => Assert.Equal(watched, JsonDocument.Parse(l).RootElement[0].GetProperty("id").GetString()));
        await OkAsync("daemon", "rm", "-f", watched);
    }

    [Fact]
    public async Task With_no_daemon_at_the_default_address_arctl_runs_the_runtime_itself()
    {
        Assert.False(File.Exists("/run/actorruntime/actorruntime.sock"), "a daemon answers at the default address on this machine");
        var id = Id("embedded", "fallback");
        // No --address and no --embedded: nothing answers at the default address, so arctl runs the runtime on --root.
        using var process = Process.Start(StartInfo(["--root", Root, "--state", State, "run", "-d", id, "sleep", "300"], stdin: false))!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Bound);
        Assert.True(process.ExitCode == 0, await stderr);
        Assert.Equal("running", (await PsRowAsync("embedded", id))!.Value.GetProperty("status").GetString());
        await OkAsync("embedded", "rm", "-f", id);
    }

    private async Task<LiveArctl> LiveAsync(params string[] args)
    {
        var process = Process.Start(StartInfo([.. await GlobalArgsAsync("daemon"), .. args], stdin: false))!;
        return new LiveArctl(process);
    }

    /// <summary>An arctl left running: its stdout lines as they come, Ctrl-C (SIGINT), its exit status; killed if still running.</summary>
    private sealed class LiveArctl : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _errors = new();

        public LiveArctl(Process process)
        {
            _process = process;
            process.OutputDataReceived += (_, e) => { if (e.Data is { } line) _lines.Enqueue(line); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is { } line) _errors.Enqueue(line); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public IReadOnlyList<string> Lines => _lines.ToList();

        public void Interrupt() => Assert.Equal(0, HostProcesses.Run("kill", "-INT", _process.Id.ToString()).ExitCode);

        public async Task<int> ExitAsync()
        {
            await _process.WaitForExitAsync().WaitAsync(Bound);
            return _process.ExitCode;
        }

        public override string ToString() => $"stdout:\n{string.Join('\n', _lines)}\nstderr:\n{string.Join('\n', _errors)}";

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
        }
    }
}
