using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using ActorRuntime.Client;
using ActorRuntime.Client.Remote;
using Xunit;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using static ActorRuntime.Testing.Eventually;

namespace ActorRuntime.Testing;

/// <summary>
/// Three real actorruntimed nodes (n1, n2, n3) on loopback ports, each with its own socket, root and state directory,
/// over one PostgreSQL journal started here, with a containerd-API client per node in one namespace of the spec's own.
/// A node can be killed and started again. Isolated (<see cref="StartAsync"/>'s isolated), each node runs in a network
/// namespace of its own on a bridge (<see cref="ClusterNetwork"/>), and a node can be cut off from the other two and
/// reconnected. Disposing stops everything and asserts nothing is left: no daemon, shim, runc container, bundle, cgroup,
/// database server, network namespace or interface.
/// </summary>
public sealed class ThreeNodeCluster : IAsyncDisposable
{
    public const string PlacementLabel = "actorruntime.io/placement";
    public static readonly string[] Nodes = ["n1", "n2", "n3"];

    private readonly string _dir;
    private readonly PostgreSqlServer _database = new();
    private readonly DaemonProcess?[] _daemons = new DaemonProcess?[3];
    private readonly IContainerClient?[] _clients = new IContainerClient?[3];
    private readonly int[] _ports = [FreePort(), FreePort(), FreePort()];
    private readonly List<int> _pids = [];
    private readonly TimeSpan _bound;
    private readonly bool[] _cut = new bool[3];
    private string _config = "";

    /// <summary>The nodes' own network, when isolated; null: all of them on loopback.</summary>
    private ClusterNetwork? _network;

    private ThreeNodeCluster(string root, TimeSpan bound)
    {
        _dir = Path.Combine(root, "cluster-" + Guid.NewGuid().ToString("N")[..12]);
        _bound = bound;
    }

    /// <summary>The random hex naming this cluster's containerd namespace and, isolated, its network's namespaces and links.</summary>
    private string Hex { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    public string Namespace => "cluster-" + Hex;

    public IContainerClient Client(int n) => _clients[n] ?? throw new InvalidOperationException($"node {Nodes[n]} is not running");

    public string State(int n) => Path.Combine(NodeDir(n), "state");

    private string NodeDir(int n) => Path.Combine(_dir, Nodes[n]);

    /// <summary>Node <paramref name="n"/>'s containerd API socket (for ctr -a).</summary>
    public string Address(int n) => Path.Combine(NodeDir(n), "actorruntimed.sock");

    private string RuncRoot => $"/run/containerd/runc/{Namespace}";

    /// <summary>
    /// The database, then n1 (it forms the cluster and makes the journal's tables), then n2 and n3 joining through it,
    /// all under a new directory in <paramref name="root"/>. <paramref name="hocon"/> goes into every node's configuration
    /// file (shorter cluster timings for a spec). <paramref name="isolated"/>: each node in a network namespace of its own,
    /// for <see cref="CutAsync"/>.
    /// </summary>
    public static async Task<ThreeNodeCluster> StartAsync(string root, TimeSpan bound, string hocon = "", bool isolated = false)
    {
        if (!Environment.IsPrivilegedProcess) throw new InvalidOperationException("a cluster of actorruntimed runs runc: run as root");
        var cluster = new ThreeNodeCluster(root, bound);
        try
        {
            Directory.CreateDirectory(cluster._dir);
            await cluster._database.InitializeAsync();
            if (isolated) cluster._network = await ClusterNetwork.CreateAsync(cluster.Hex, Nodes.Length);
            // Isolated, the journal is reached over PostgreSQL's unix socket, a file every network namespace reaches: a cut
            // is of the cluster's network only, a node cut off still reads and writes the one journal (as over a storage
            // network of its own).
            var database = isolated ? cluster._database.UnixSocketConnectionString : cluster._database.ConnectionString;
            cluster._config = Path.Combine(cluster._dir, "cluster.conf");
            await File.WriteAllTextAsync(cluster._config, $$"""
                actor-runtime.persistence { provider = postgresql, connection-string = "{{database}}" }
                {{hocon}}
                """);
            await cluster.StartNodeAsync(0);
            await Task.WhenAll(cluster.StartNodeAsync(1), cluster.StartNodeAsync(2));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts node <paramref name="n"/> (again, after <see cref="Kill"/>) and waits until it serves.</summary>
    public async Task StartNodeAsync(int n)
    {
        Directory.CreateDirectory(NodeDir(n));
        string[] args = ["--address", Address(n), "--root", Path.Combine(NodeDir(n), "root"), "--state", State(n), "--config", _config,
            "--node-name", Nodes[n], "--cluster-port", _ports[n].ToString()];
        var daemon = _network is { } network
            ? DaemonProcess.Start(Address(n), [.. args, "--cluster-host", network.AddressOf(n), "--cluster-seed", $"{network.AddressOf(0)}:{_ports[0]}"],
                network.Launcher(n))
            : DaemonProcess.Start(Address(n), [.. args, "--cluster-seed", $"127.0.0.1:{_ports[0]}"]);
        _daemons[n] = daemon;
        _pids.Add(daemon.Pid);
        // The launcher must have exec'd the daemon in its own place: the pid signalled and awaited is the daemon's.
        if (_network is not null)
            await EventuallyAsync(() => daemon.HasExited || CommandLineOf(daemon.Pid).Contains(DaemonProcess.Dll, StringComparison.Ordinal),
                $"nsenter to exec actorruntimed as pid {daemon.Pid}", _bound);
        await daemon.WaitServingAsync(_bound);
        _clients[n] = ContainerdContainerClient.Connect(Address(n), Namespace, Path.Combine(NodeDir(n), "client"));
    }

    /// <summary>SIGKILLs node <paramref name="n"/>'s daemon, as a crash would: its shims and containers keep running.</summary>
    public async Task KillAsync(int n)
    {
        if (_clients[n] is { } client) await client.DisposeAsync();
        _clients[n] = null;
        var daemon = _daemons[n] ?? throw new InvalidOperationException($"node {Nodes[n]} is not running");
        daemon.Signal(9);
        await daemon.WaitExitAsync(_bound);
        await daemon.DisposeAsync();
        _daemons[n] = null;
    }

    /// <summary>
    /// SIGSTOPs node <paramref name="n"/>'s daemon: alive, silent, as a frozen machine. Its client stays, for after
    /// <see cref="Thaw"/>.
    /// </summary>
    public void Freeze(int n) => (_daemons[n] ?? throw new InvalidOperationException($"node {Nodes[n]} is not running")).Signal(19);

    /// <summary>Waits until node <paramref name="n"/>'s socket answers (again, after its daemon started itself anew).</summary>
    public Task WaitServingAsync(int n) =>
        (_daemons[n] ?? throw new InvalidOperationException($"node {Nodes[n]} is not running")).WaitServingAsync(_bound);

    /// <summary>SIGCONTs node <paramref name="n"/>'s daemon.</summary>
    public void Thaw(int n) => (_daemons[n] ?? throw new InvalidOperationException($"node {Nodes[n]} is not running")).Signal(18);

    private ClusterNetwork Network => _network ?? throw new InvalidOperationException("the cluster was not started isolated");

    /// <summary>
    /// Takes node <paramref name="n"/>'s link down: it and the other two no longer reach each other (its daemon, shims and
    /// the journal go on, and its socket still serves on this machine).
    /// </summary>
    public async Task CutAsync(int n)
    {
        _cut[n] = true; // before: a cut that timed out half-way is still undone on disposal
        await Network.CutAsync(n);
    }

    /// <summary>Takes node <paramref name="n"/>'s link up again.</summary>
    public async Task ReconnectAsync(int n)
    {
        await Network.ReconnectAsync(n);
        _cut[n] = false;
    }

    /// <summary>Everything node <paramref name="n"/> wrote to stderr, across its restarts in place.</summary>
    public string Log(int n) => (_daemons[n] ?? throw new InvalidOperationException($"node {Nodes[n]} is not running")).Stderr;

    /// <summary>The last lines each running node wrote to stderr, for a failure's message.</summary>
    public string Logs(int lines = 15) => string.Join("\n", Enumerable.Range(0, 3).Select(n => _daemons[n] is { } d
        ? $"--- {Nodes[n]}:\n" + string.Join("\n", d.Stderr.Split('\n').TakeLast(lines))
        : $"--- {Nodes[n]}: not running"));

    /// <summary>The node whose state directory holds the container's bundle, i.e. the node that runs it.</summary>
    public string RunsOn(string id) =>
        Nodes.Single(node => Directory.Exists(Path.Combine(State(Array.IndexOf(Nodes, node)), Namespace, id)));

    /// <summary>Right after the daemons serve, a node may not yet see another as Up: such a call is retried.</summary>
    public static async Task UntilUpAsync(Func<Task> call)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await call();
                return;
            }
            catch (UnavailableException) when (deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(200);
            }
        }
    }

    public List<string> Leftovers() =>
    [
        .. HostProcesses.ShimsUnder(_dir).Select(s => $"shim {s.Pid}"),
        .. (Directory.Exists(RuncRoot) ? Directory.EnumerateDirectories(RuncRoot) : []).Select(c => $"runc {Path.GetFileName(c)}"),
        .. Enumerable.Range(0, 3).SelectMany(n => Bundle.List(State(n)).Select(b => $"bundle {Nodes[n]}/{b}")),
    ];

    public async ValueTask DisposeAsync()
    {
        var left = Leftovers();
        // A shim killed below leaves its socket: its address, read now, is removed once it is stale.
        var shimSockets = Enumerable.Range(0, 3).SelectMany(n => Bundle.List(State(n))).Select(b => b.ReadAddress()).OfType<string>().ToList();
        // A node left frozen by a failed spec is thawed, so it can stop (one killed meanwhile is left to its wait).
        foreach (var d in _daemons.OfType<DaemonProcess>().Where(d => !d.HasExited)) d.Signal(18);
        // A node left cut off by a failed spec is reconnected, so it can leave the cluster as it stops.
        var networkFailures = new List<string>();
        for (var n = 0; n < 3; n++)
        {
            if (!_cut[n]) continue;
            try
            {
                await ReconnectAsync(n);
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                networkFailures.Add(e.Message);
            }
        }
        int[] exits;
        string dataDirectory;
        try
        {
            foreach (var client in _clients.OfType<IContainerClient>()) await client.DisposeAsync();
            // SIGTERM: each node leaves the cluster and stops; the last one takes longest (no one to hand over to).
            var daemons = _daemons.OfType<DaemonProcess>().ToList();
            exits = await Task.WhenAll(daemons.Select(d => d.StopAsync(_bound)));
            var shims = HostProcesses.ShimsUnder(_dir).Select(s => s.Pid).ToList();
            foreach (var pid in shims) HostProcesses.Kill(pid);
            // A socket is stale only once its shim is gone.
            foreach (var pid in shims) await HostProcesses.WaitUntilGoneAsync(pid, _bound);
            foreach (var address in shimSockets) await ShimSocket.RemoveIfStaleAsync(address);
            RuncNamespace.Remove(Namespace, Directory.Exists(RuncRoot)
                ? Directory.EnumerateDirectories(RuncRoot).Select(Path.GetFileName).OfType<string>().ToList()
                : []);
            if (Directory.Exists(RuncRoot)) Directory.Delete(RuncRoot, recursive: true);
            await Shell.UnmountUnderAsync(_dir);
            dataDirectory = _database.DataDirectory;
            await _database.DisposeAsync();
            if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
        }
        finally
        {
            // The network goes once nothing runs in its namespaces any more, and also when the clean-up above failed.
            if (_network is { } network)
            {
                networkFailures.AddRange(await network.RemoveAsync());
                networkFailures.AddRange((await network.LeftoversAsync()).Select(l => $"left: {l}"));
            }
        }

        var (_, postgres) = await Shell.RunAsync("pgrep", ["-f", dataDirectory]);
        var alive = _pids.Where(HostProcesses.IsAlive).ToList();
        Assert.True(postgres.Trim().Length == 0, $"PostgreSQL still running: {postgres}");
        Assert.True(alive.Count == 0, $"actorruntimed still running: {string.Join(", ", alive)}");
        Assert.True(left.Count == 0, "left after the spec's containers were deleted: " + string.Join(", ", left));
        Assert.True(networkFailures.Count == 0, "the cluster's network: " + string.Join("; ", networkFailures));
        Assert.All(exits, code => Assert.Equal(0, code));
    }

    private static string CommandLineOf(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline");
        }
        catch (IOException)
        {
            return ""; // gone
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Every event a subscription delivered, as delivered (never de-duplicated).</summary>
    public sealed class Recorder : IContainerEventBackend
    {
        private readonly List<ContainerEvent> _events = [];

        public List<ContainerEvent> Events
        {
            get
            {
                lock (_events) return [.. _events];
            }
        }

        public int Count(ContainerEventKind kind) => Events.Count(e => e.Kind == kind);

        public Task ProcessEventAsync(ContainerEvent e, CancellationToken ct)
        {
            lock (_events) _events.Add(e);
            return Task.CompletedTask;
        }

        public override string ToString() => string.Join(", ", Events.GroupBy(e => e.Kind).Select(g => $"{g.Key}: {g.Count()}"));
    }
}
