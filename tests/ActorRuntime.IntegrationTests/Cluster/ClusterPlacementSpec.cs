using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using ActorRuntime.Client;
using ActorRuntime.Client.Remote;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Native;
using ActorRuntime.Oci;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Tasks;
using ActorRuntime.Testing;
using Xunit.Abstractions;

namespace ActorRuntime.IntegrationTests.Cluster;

/// <summary>
/// Three real actorruntimed nodes on loopback ports (their own sockets, roots and state directories), one PostgreSQL
/// journal, real shims and runc: 30 busybox containers placed by name and "anywhere", each driven from every node
/// through that node's containerd API (state, exec, kill, delete). Afterwards no daemon, shim, runc container, bundle or
/// database server is left.
/// </summary>
public sealed class ClusterPlacementSpec(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Containers = 30;
    private const string PlacementLabel = "actorruntime.io/placement";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private static readonly string[] Nodes = ["n1", "n2", "n3"];

    private readonly string _dir = Path.Combine(ShimTestEnvironment.TestRoot, "cluster-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly string _namespace = "cluster-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
    private readonly PostgreSqlServer _database = new();
    private readonly DaemonProcess?[] _daemons = new DaemonProcess?[3];
    private readonly IContainerClient[] _clients = new IContainerClient[3];
    private readonly int[] _ports = [FreePort(), FreePort(), FreePort()];

    private string NodeDir(int n) => Path.Combine(_dir, Nodes[n]);

    private string Address(int n) => Path.Combine(NodeDir(n), "actorruntimed.sock");

    private string State(int n) => Path.Combine(NodeDir(n), "state");

    private string RuncRoot => $"/run/containerd/runc/{_namespace}";

    public async Task InitializeAsync()
    {
        if (!Environment.IsPrivilegedProcess) throw new InvalidOperationException("integration tests must run as root");
        Directory.CreateDirectory(_dir);
        await _database.InitializeAsync();
        var config = Path.Combine(_dir, "cluster.conf");
        await File.WriteAllTextAsync(config, $$"""
            actor-runtime.persistence { provider = postgresql, connection-string = "{{_database.ConnectionString}}" }
            """);
        // The first node forms the cluster (and makes the journal's tables); the others join through it.
        await StartNodeAsync(0, config);
        await Task.WhenAll(StartNodeAsync(1, config), StartNodeAsync(2, config));
        for (var n = 0; n < 3; n++) _clients[n] = ContainerdContainerClient.Connect(Address(n), _namespace, Path.Combine(NodeDir(n), "client"));
    }

    private async Task StartNodeAsync(int n, string config)
    {
        Directory.CreateDirectory(NodeDir(n));
        _daemons[n] = DaemonProcess.Start(Address(n), Path.Combine(NodeDir(n), "root"), State(n), "--config", config,
            "--node-name", Nodes[n], "--cluster-port", _ports[n].ToString(), "--cluster-seed", $"127.0.0.1:{_ports[0]}");
        await _daemons[n]!.WaitServingAsync(Bound);
    }

    [Fact]
    public async Task Thirty_containers_placed_by_name_and_anywhere_are_each_driven_from_every_node_and_leave_nothing_behind()
    {
        var watch = Stopwatch.StartNew();
        // Placed one after another, so "anywhere" sees the counts the named ones made: 5 named on each node, then 15
        // anywhere, which the fewest-containers rule spreads 5 more to each.
        var placed = new Dictionary<string, string>();
        for (var i = 0; i < Containers; i++)
        {
            var id = $"c{i:D2}";
            var placement = i < 15 ? Nodes[i % 3] : "anywhere";
            var spec = OciSpec.ConfigJson(_namespace, id, new OciContainerSpec(["sleep", "600"]));
            await UntilUpAsync(() => _clients[(i + 1) % 3].CreateAsync(
                new NewContainer(id, spec, Labels: new Dictionary<string, string> { [PlacementLabel] = placement })));
            placed[id] = placement;
        }
        output.WriteLine($"created {Containers} in {watch.Elapsed}");

        // Every node lists all of them.
        for (var n = 0; n < 3; n++)
            Assert.Equal(placed.Keys.Order(), (await _clients[n].ListAsync()).Select(c => c.Id).Order());

        var rootfs = new[] { BusyboxImage.BindMount(ShimTestEnvironment.ImageDirectory) };
        var ran = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();
        await Shell.ForEachAsync(Enumerable.Range(0, Containers), 10, async i =>
        {
            var id = $"c{i:D2}";
            IContainerClient From(int k) => _clients[(i + k) % 3];
            var started = await From(0).StartAsync(id, new StartOptions(Rootfs: rootfs));
            // The node that runs it: the one whose state directory has its bundle.
            ran[id] = Nodes.Single(n => Directory.Exists(Path.Combine(State(Array.IndexOf(Nodes, n)), _namespace, id)));
            for (var k = 0; k < 3; k++)
            {
                var status = await From(k).StatusAsync(id);
                Assert.Equal((ProcessStatus.Running, started.Pid), (status.Status, status.Pid));
                var exec = await From(k).ExecAsync(id, $"e{k}", new ExecOptions(OciSpec.ProcessJson(["sh", "-c", $"exit {k + 3}"])));
                Assert.True(exec.Pid > 0);
                Assert.Equal((uint)(k + 3), (await From(k).WaitAsync(id, $"e{k}")).ExitStatus);
                Assert.Equal((uint)(k + 3), (await From((k + 1) % 3).DeleteProcessAsync(id, $"e{k}")).ExitStatus);
            }
            await From(1).SignalAsync(id, null, 9);
            Assert.Equal(137u, (await From(2).WaitAsync(id, null)).ExitStatus);
            Assert.Equal(137u, (await From(0).DeleteTaskAsync(id)).ExitStatus);
            await From(1).DeleteAsync(id);
            await Assert.ThrowsAsync<NotFoundException>(() => From(2).LoadAsync(id));
        });
        output.WriteLine($"driven in {watch.Elapsed}");
        output.WriteLine(string.Join(", ", Nodes.Select(n => $"{n}: {ran.Values.Count(r => r == n)}")));

        // Named ones ran where they were told; "anywhere" ones spread evenly.
        foreach (var (id, placement) in placed.Where(p => p.Value != "anywhere")) Assert.Equal(placement, ran[id]);
        Assert.All(Nodes, n => Assert.Equal(10, ran.Values.Count(r => r == n)));
        for (var n = 0; n < 3; n++) Assert.Empty(await _clients[n].ListAsync());
        Assert.Empty(Leftovers());

        // One stream for the cluster: read from position 0 through each node, every exit is in it once, named with the
        // node that ran it, and every node gives the same positions.
        var positions = new List<long[]>();
        for (var n = 0; n < 3; n++)
        {
            var seen = new Recorder();
            await using (await _clients[n].SubscribeAsync(seen, afterOffset: 0))
                await EventuallyAsync(() => seen.Count(ContainerEventKind.Delete) == Containers, $"the {Containers} deletes through {Nodes[n]}",
                    Bound, seen.ToString);
            var events = seen.Events;
            var exits = events.Where(e => e.Kind == ContainerEventKind.Exit).ToList();
            Assert.Equal(Containers * 4, exits.Count); // three execs and the init of each
            Assert.Equal(exits.Count, exits.Select(e => (e.ContainerId, e.ExecId)).Distinct().Count());
            Assert.All(exits, e => Assert.Equal(ran[e.ContainerId], e.Node));
            Assert.All(exits.Where(e => e.ExecId is null), e => Assert.Equal(137u, e.ExitStatus));
            Assert.Equal(events.Count, events.Select(e => e.Offset).Distinct().Count());
            positions.Add([.. events.Select(e => e.Offset).Order()]);
        }
        Assert.Equal(positions[0], positions[1]);
        Assert.Equal(positions[0], positions[2]);
    }

    /// <summary>Every event a subscription delivered, as delivered (never de-duplicated).</summary>
    private sealed class Recorder : IContainerEventBackend
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

    /// <summary>Right after the daemons serve, a node may not yet see another as Up: such a placement is retried.</summary>
    private static async Task UntilUpAsync(Func<Task> create)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await create();
                return;
            }
            catch (UnavailableException) when (deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(200);
            }
        }
    }

    private List<HostProcesses.ProcessEntry> OwnShims() =>
        HostProcesses.All().Where(HostProcesses.IsShim).Where(p => p.Cwd?.StartsWith(_dir + "/", StringComparison.Ordinal) == true).ToList();

    private List<string> Leftovers() =>
    [
        .. OwnShims().Select(s => $"shim {s.Pid}"),
        .. (Directory.Exists(RuncRoot) ? Directory.EnumerateDirectories(RuncRoot) : []).Select(c => $"runc {Path.GetFileName(c)}"),
        .. Enumerable.Range(0, 3).SelectMany(n => Bundle.List(State(n)).Select(b => $"bundle {Nodes[n]}/{b}")),
    ];

    public async Task DisposeAsync()
    {
        var left = Leftovers();
        foreach (var client in _clients.OfType<IContainerClient>()) await client.DisposeAsync();
        // SIGTERM: each node leaves the cluster and stops; the last one takes longest (no one to hand over to).
        var daemons = _daemons.OfType<DaemonProcess>().ToList();
        var pids = daemons.Select(d => d.Pid).ToList();
        foreach (var daemon in daemons.Where(d => !d.HasExited)) daemon.Signal(15);
        var exits = await Task.WhenAll(daemons.Select(async d =>
        {
            try
            {
                return await d.WaitExitAsync(Bound);
            }
            finally
            {
                await d.DisposeAsync();
            }
        }));
        foreach (var shim in OwnShims()) HostProcesses.Kill(shim.Pid);
        if (Directory.Exists(RuncRoot))
        {
            foreach (var id in Directory.EnumerateDirectories(RuncRoot).Select(Path.GetFileName))
                HostProcesses.Run("runc", "--root", RuncRoot, "delete", "--force", id!);
            Directory.Delete(RuncRoot, recursive: true);
        }
        Cgroups.RemoveNamespace(_namespace);
        MountInfo.UnmountAllUnder(_dir);
        var dataDirectory = _database.DataDirectory;
        await _database.DisposeAsync();
        Directory.Delete(_dir, recursive: true);

        var (_, postgres) = await Shell.RunAsync("pgrep", ["-f", dataDirectory]);
        var alive = pids.Where(HostProcesses.IsAlive).ToList();
        Assert.True(postgres.Trim().Length == 0, $"PostgreSQL still running: {postgres}");
        Assert.True(alive.Count == 0, $"actorruntimed still running: {string.Join(", ", alive)}");
        Assert.True(left.Count == 0, "left after the spec's containers were deleted: " + string.Join(", ", left));
        Assert.All(exits, code => Assert.Equal(0, code));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
