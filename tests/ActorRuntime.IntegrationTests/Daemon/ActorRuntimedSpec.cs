using System.Text.RegularExpressions;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Testing;

namespace ActorRuntime.IntegrationTests.Daemon;

/// <summary>
/// The real actorruntimed process driven by the real ctr (containerd 1.6.20's client): version, namespaces, one daemon
/// per root, SIGTERM, a stale socket. Each test has its own socket, root and state directory, removed afterwards.
/// </summary>
public sealed partial class ActorRuntimedSpec : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly string _dir;
    private readonly List<DaemonProcess> _daemons = [];

    public ActorRuntimedSpec()
    {
        if (!Environment.IsPrivilegedProcess) throw new InvalidOperationException("integration tests must run as root");
        _dir = Path.Combine(ShimTestEnvironment.TestRoot, "daemon-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_dir);
    }

    private string Address => Path.Combine(_dir, "actorruntimed.sock");
    private string Root => Path.Combine(_dir, "root");
    private string State => Path.Combine(_dir, "state");

    private DaemonProcess Start(string? address = null)
    {
        var daemon = DaemonProcess.Start(address ?? Address, Root, State);
        _daemons.Add(daemon);
        return daemon;
    }

    private async Task<DaemonProcess> StartServingAsync()
    {
        var daemon = Start();
        await daemon.WaitServingAsync(Bound);
        return daemon;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var daemon in _daemons) await daemon.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [GeneratedRegex(@"UUID:\s*(\S+)")]
    private static partial Regex Uuid();

    [Fact]
    public async Task Ctr_version_shows_our_version_and_a_server_uuid_that_survives_a_restart()
    {
        var daemon = await StartServingAsync();
        var version = await Ctr.OkAsync(Address, "version");
        Assert.Contains("Revision: actorruntime", version);
        var server = version[version.IndexOf("Server:", StringComparison.Ordinal)..];
        Assert.Matches(@"Version:\s+\d+\.\d+\.\d+", server);
        var uuid = Uuid().Match(server).Groups[1].Value;
        Assert.True(Guid.TryParse(uuid, out _), version);

        daemon.Signal(15);
        Assert.Equal(0, await daemon.WaitExitAsync(Bound));
        await StartServingAsync();
        Assert.Equal(uuid, Uuid().Match(await Ctr.OkAsync(Address, "version")).Groups[1].Value);
    }

    [Fact]
    public async Task Ctr_creates_labels_lists_and_removes_a_namespace_and_it_is_durable_across_a_restart()
    {
        var daemon = await StartServingAsync();
        await Ctr.OkAsync(Address, "namespaces", "create", "x", "tier=web");
        var taken = await Ctr.RunAsync(Address, "namespaces", "create", "x");
        Assert.NotEqual(0, taken.Code);
        Assert.Contains("namespace \"x\": already exists", taken.Stderr);
        var bad = await Ctr.RunAsync(Address, "namespaces", "create", "no/slash");
        Assert.NotEqual(0, bad.Code);
        Assert.Contains("must match", bad.Stderr);

        await Ctr.OkAsync(Address, "namespaces", "label", "x", "owner=ops");
        Assert.Matches(@"(?m)^x\s+owner=ops,tier=web\s*$", await Ctr.OkAsync(Address, "namespaces", "ls"));

        daemon.Signal(15);
        Assert.Equal(0, await daemon.WaitExitAsync(Bound));
        await StartServingAsync();
        Assert.Matches(@"(?m)^x\s+owner=ops,tier=web\s*$", await Ctr.OkAsync(Address, "namespaces", "ls"));

        await Ctr.OkAsync(Address, "namespaces", "remove", "x");
        Assert.DoesNotMatch(@"(?m)^x\s", await Ctr.OkAsync(Address, "namespaces", "ls"));
        // ctr takes NotFound on remove as done, as against containerd (NamespacesServiceSpec checks the code itself).
        Assert.Equal("x", (await Ctr.OkAsync(Address, "namespaces", "remove", "x")).Trim());
    }

    [Fact]
    public async Task A_second_daemon_on_the_same_root_refuses_to_start_and_the_first_keeps_serving()
    {
        await StartServingAsync();
        var second = Start(Path.Combine(_dir, "second.sock"));
        Assert.NotEqual(0, await second.WaitExitAsync(Bound));
        Assert.Contains("in use by another runtime", second.Stderr);
        Assert.False(File.Exists(Path.Combine(_dir, "second.sock")));
        await Ctr.OkAsync(Address, "version");
    }

    [Fact]
    public async Task Sigterm_stops_the_daemon_with_exit_code_zero_and_removes_its_socket()
    {
        var daemon = await StartServingAsync();
        Assert.Equal("-rw-------", UnixMode(Address));
        daemon.Signal(15);
        Assert.Equal(0, await daemon.WaitExitAsync(Bound));
        Assert.False(File.Exists(Address));
    }

    [Fact]
    public async Task The_config_file_places_the_socket_the_flags_win_over_it_and_a_group_makes_it_group_read_write()
    {
        var fromConfig = Path.Combine(_dir, "from-config.sock");
        var config = Path.Combine(_dir, "daemon.conf");
        await File.WriteAllTextAsync(config, $"actor-runtime {{ address = \"{fromConfig}\", root-dir = \"{Root}\", state-dir = \"{State}\" }}");
        var daemon = DaemonProcess.Start(fromConfig, ["--config", config, "--group", "4242"]);
        _daemons.Add(daemon);
        await daemon.WaitServingAsync(Bound);
        Assert.True(File.Exists(fromConfig + ".ttrpc"), "the events socket is the address + .ttrpc");
        Assert.Equal("-rw-rw----", UnixMode(fromConfig));
        Assert.Equal("4242", (await Stat(fromConfig, "%g")).Trim());
        daemon.Signal(15);
        Assert.Equal(0, await daemon.WaitExitAsync(Bound));

        var flagged = DaemonProcess.Start(Address, ["--config", config, "--address", Address]);
        _daemons.Add(flagged);
        await flagged.WaitServingAsync(Bound);
        Assert.False(File.Exists(fromConfig));
    }

    private static async Task<string> Stat(string path, string format)
    {
        var start = new System.Diagnostics.ProcessStartInfo("stat", ["-c", format, path]) { RedirectStandardOutput = true };
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output;
    }

    [Fact]
    public async Task A_stale_socket_file_is_replaced_and_a_bad_flag_exits_2_with_usage()
    {
        // A SIGKILLed daemon leaves its socket behind, with nothing listening.
        var killed = await StartServingAsync();
        killed.Signal(9);
        await killed.WaitExitAsync(Bound);
        Assert.True(File.Exists(Address));
        await StartServingAsync();
        await Ctr.OkAsync(Address, "version");

        var bad = DaemonProcess.Start(Address, Root, State, "--no-such-flag");
        _daemons.Add(bad);
        Assert.Equal(2, await bad.WaitExitAsync(Bound));
        Assert.Contains("usage: actorruntimed", bad.Stderr);
    }

    // What ls shows for the mode, without the file-type letter (.NET drops it).
    private static string UnixMode(string path)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException();
        var mode = File.GetUnixFileMode(path);
        var bits = "rwxrwxrwx";
        var text = new char[9];
        for (var i = 0; i < 9; i++) text[i] = ((int)mode & (1 << (8 - i))) != 0 ? bits[i] : '-';
        return "-" + new string(text);
    }
}
