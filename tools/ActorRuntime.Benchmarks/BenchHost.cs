using System.Security.Cryptography;
using ActorRuntime.Testing;
using ActorRuntime.TestKit.Oci;

namespace ActorRuntime.Benchmarks;

/// <summary>
/// actorruntime-host for a benchmark: its own root, state dir, runc root and namespace under /tmp, the busybox image,
/// and generations of the host process on them. Disposing stops the host and removes whatever is left: shims in the
/// state dir, runc containers, mounts, cgroups, the directory.
/// </summary>
internal sealed class BenchHost : IAsyncDisposable
{
    private readonly string _dir;
    private readonly string _state;
    private readonly string _runcRoot;
    private readonly string _namespace;
    private int _generation;

    private BenchHost(string tag)
    {
        _dir = $"/tmp/arbench-{tag}";
        _state = Path.Combine(_dir, "state");
        _runcRoot = Path.Combine(_dir, "runc");
        _namespace = $"arbench-{tag}";
        Arguments = ["--root", Path.Combine(_dir, "root"), "--state-dir", _state, "--namespace", _namespace, "--runc-root", _runcRoot,
            "--no-stream-events"];
        Image = BusyboxImage.Ensure(Path.Combine(_dir, "root", "images", "busybox"));
    }

    public IReadOnlyList<string> Arguments { get; }
    public string Image { get; }
    public HostProcess? Host { get; private set; }

    public static BenchHost Prepare() => new(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));

    /// <summary>Starts the next generation of the host on the same directories; returns once it wrote its ready line.</summary>
    public async Task<HostProcess> StartAsync(TimeSpan readyTimeout)
    {
        if (Host is { HasExited: false }) throw new InvalidOperationException("a host is already running");
        if (Host is not null) await Host.DisposeAsync();
        Host = await HostProcess.StartAsync(Arguments, _generation++, readyTimeout);
        return Host;
    }

    /// <summary>SIGKILL, as a crash would; shims and containers stay.</summary>
    public async Task KillAsync()
    {
        var host = Host ?? throw new InvalidOperationException("no host running");
        await host.KillAsync();
        await host.DisposeAsync();
        Host = null;
    }

    /// <summary>The shim processes serving this host's containers.</summary>
    public IReadOnlyList<int> ShimPids() => Cleanup.OwnShims(_state).Select(p => p.Pid).ToList();

    public async ValueTask DisposeAsync()
    {
        if (Host is not null) await Host.DisposeAsync();
        await Cleanup.ForceCleanAsync(_state, _runcRoot, _namespace, _dir);
    }
}
