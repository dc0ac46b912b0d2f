using System.Security.Cryptography;
using ActorRuntime.Testing;
using ActorRuntime.Oci;

namespace ActorRuntime.Benchmarks;

/// <summary>
/// actorruntime-host for a benchmark: its own root, state dir, runc root and namespace under /tmp, the busybox image,
/// and generations of the host process on them. Disposing stops the host and removes whatever is left: shims in the
/// state dir, runc containers, mounts, cgroups, the directory. The one way a benchmark (the soak included) starts a host.
/// </summary>
internal sealed class BenchHost : IAsyncDisposable
{
    private BenchHost(string kind, string tag, bool streamEvents)
    {
        BaseDirectory = $"/tmp/{kind}-{tag}";
        StateDirectory = Path.Combine(BaseDirectory, "state");
        RuncRoot = Path.Combine(BaseDirectory, "runc");
        Namespace = $"{kind}-{tag}";
        Arguments = ["--root", Path.Combine(BaseDirectory, "root"), "--state-dir", StateDirectory, "--namespace", Namespace,
            "--runc-root", RuncRoot, .. streamEvents ? Array.Empty<string>() : ["--no-stream-events"]];
        Image = BusyboxImage.Ensure(Path.Combine(BaseDirectory, "root", "images", "busybox"));
    }

    public string BaseDirectory { get; }
    public string StateDirectory { get; }
    public string RuncRoot { get; }
    public string Namespace { get; }
    public IReadOnlyList<string> Arguments { get; }
    public string Image { get; }
    public HostProcess? Host { get; private set; }

    /// <summary>How many hosts were started on these directories.</summary>
    public int Generations { get; private set; }

    /// <summary>
    /// New directories named <paramref name="kind"/>-&lt;random&gt;. With <paramref name="streamEvents"/> the host writes
    /// every delivered event to its output (<see cref="HostProcess.Events"/>); timing benchmarks leave that work out.
    /// </summary>
    public static BenchHost Prepare(string kind = "arbench", bool streamEvents = false) =>
        new(kind, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)), streamEvents);

    /// <summary>Starts the next generation of the host on the same directories; returns once it wrote its ready line.</summary>
    public async Task<HostProcess> StartAsync(TimeSpan readyTimeout)
    {
        if (Host is { HasExited: false }) throw new InvalidOperationException("a host is already running");
        if (Host is not null) await Host.DisposeAsync();
        Host = await HostProcess.StartAsync(Arguments, Generations++, readyTimeout);
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
    public IReadOnlyList<int> ShimPids() => Cleanup.OwnShims(StateDirectory).Select(p => p.Pid).ToList();

    /// <summary>The bundle directory of a container.</summary>
    public string BundleOf(string id) => Path.Combine(StateDirectory, Namespace, id);

    /// <summary>What the runs left behind here (see <see cref="Cleanup.CountLeaksAsync"/>).</summary>
    public Task<Cleanup.Leaks> CountLeaksAsync(IEnumerable<string> ids) =>
        Cleanup.CountLeaksAsync(StateDirectory, RuncRoot, Namespace, BaseDirectory, ids);

    public async ValueTask DisposeAsync()
    {
        if (Host is not null) await Host.DisposeAsync();
        await Cleanup.ForceCleanAsync(StateDirectory, RuncRoot, Namespace, BaseDirectory);
    }
}
