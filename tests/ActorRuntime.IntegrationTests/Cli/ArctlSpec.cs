using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Testing;

namespace ActorRuntime.IntegrationTests.Cli;

/// <summary>
/// The built arctl.dll run as a process, with the runtime in-process (--embedded) and against a real actorruntimed: run's
/// output and exit status, a detached container's life, --json, namespaces, errors, the root lock, and `run -it` in tmux.
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
        if (_daemon is not null) await _daemon.DisposeAsync();
        // runc leaves the root and the cgroups of a namespace it ran in (the spec's cgroupsPath is /<namespace>/<id>).
        foreach (var ns in _created.Select(c => c.Namespace).Where(ns => ns != "default").Distinct())
        {
            var runcRoot = $"/run/containerd/runc/{ns}";
            if (Directory.Exists(runcRoot) && !Directory.EnumerateFileSystemEntries(runcRoot).Any()) Directory.Delete(runcRoot);
            Cgroups.RemoveNamespace(ns);
        }
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
        var socket = "arctl-" + _suffix;
        var globals = await GlobalArgsAsync("embedded");
        var command = string.Join(' ', new[] { "dotnet", Dll }.Concat(globals).Concat(["run", "-it", "--rm", id, "sh"]));
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
        Assert.Equal("[]", (await OkAsync("embedded", "ps", "--json")).Stdout.Trim());
    }
}
