using System.Net.Sockets;
using ActorRuntime.Daemon;

namespace ActorRuntime.Tests.Daemon;

/// <summary>What actorruntimed checks before it starts: its flags and the socket path it will bind.</summary>
public sealed class DaemonStartupSpec : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("actorruntimed-startup-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Flags_take_containerd_names_and_the_equals_form_and_the_flags_given_become_options()
    {
        var flags = DaemonCommandLine.Parse(["--address=/run/x/api.sock", "--root", "/var/lib/x", "--state", "/run/x", "--group", "42"]);
        Assert.Equal(("/run/x/api.sock", "/var/lib/x", "/run/x", 42), (flags.Address, flags.Root, flags.State, flags.Group));
        var options = flags.ToRuntimeOptions();
        Assert.Equal(("/run/x/api.sock", "/var/lib/x", "/run/x"), (options.Address, options.RootDirectory, options.StateDirectory));
        Assert.Null(DaemonCommandLine.Parse([]).ToRuntimeOptions().Address);
    }

    [Theory]
    [InlineData("unknown flag --bogus", "--bogus")]
    [InlineData("--root needs a value", "--root")]
    [InlineData("--address must not be empty", "--address=")]
    [InlineData("--group abc: not a numeric gid", "--group", "abc")]
    [InlineData("--group -1: not a numeric gid", "--group", "-1")]
    [InlineData("--log-level loud: not one of", "--log-level", "loud")]
    [InlineData("no such file", "--config", "/nonexistent/actorruntimed.conf")]
    public void A_bad_flag_is_refused_naming_it(string expected, params string[] args)
    {
        var e = Assert.Throws<ArgumentException>(() => DaemonCommandLine.Parse(args));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_stale_socket_is_removed_a_live_one_and_a_plain_file_are_refused()
    {
        var path = Path.Combine(_dir, "api.sock");
        using (var live = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            live.Bind(new UnixDomainSocketEndPoint(path + ".bound"));
            live.Listen();
            // Moved away from where it was bound, the file outlives the socket (.NET unlinks only the bound path on close).
            File.Move(path + ".bound", path);
            var inUse = Assert.Throws<InvalidOperationException>(() => DaemonSocket.Prepare(path));
            Assert.Contains("is in use", inUse.Message);
        }
        Assert.True(File.Exists(path), "a socket file nobody listens on: what a killed daemon leaves");
        DaemonSocket.Prepare(path);
        Assert.False(File.Exists(path));

        var plain = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(plain, "keep me");
        var notSocket = Assert.Throws<InvalidOperationException>(() => DaemonSocket.Prepare(plain));
        Assert.Contains("is not a socket", notSocket.Message);
        Assert.Equal("keep me", File.ReadAllText(plain));

        var fresh = Path.Combine(_dir, "new", "dir", "api.sock");
        DaemonSocket.Prepare(fresh);
        Assert.True(Directory.Exists(Path.GetDirectoryName(fresh)));
    }
}
