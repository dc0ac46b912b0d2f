using System.Collections.Concurrent;
using System.Security.Cryptography;
using ActorRuntime.Native;
using ActorRuntime.Protocol.EventsService;
using ActorRuntime.Protocol.Runc;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Protocol.Types;
using ActorRuntime.Shims;
using ActorRuntime.Oci;
using ActorRuntime.Testing;

namespace ActorRuntime.IntegrationTests.Support;

/// <summary>
/// Everything one test needs to drive the real shim, isolated from other tests and from a real containerd:
/// its own state directory, runc root, namespace and gRPC address (hence its own shim socket names), an events server
/// at TTRPC_ADDRESS recording what the shims publish, and the shared busybox image. Dispose kills whatever is left.
/// </summary>
public sealed class ShimTestEnvironment : IAsyncDisposable
{
    public const string TestRoot = "/run/actorruntime-test";

    /// <summary>Shared by all tests (and test runs); built once.</summary>
    public static readonly string ImageDirectory = BusyboxImage.Ensure("/var/tmp/actorruntime-test-busybox");

    /// <summary>The shared image as a CreateTaskRequest rootfs entry, for specs that talk to the shim directly.</summary>
    /// <summary>
    /// Shutdown as the runtime sends it (ShimConnection.ShutDownShimAsync): a shim that exits before its reply is read
    /// closes the connection instead, which is what Shutdown asked for.
    /// </summary>
    public static async Task ShutdownAsync(ShimTaskClient client, string id)
    {
        try
        {
            await client.ShutdownAsync(new ShutdownRequest { Id = id }, new CallOptions(TimeSpan.FromSeconds(3)));
        }
        catch (TtrpcClosedException)
        {
        }
    }

    public static Mount ImageMount()
    {
        var mount = BusyboxImage.BindMount(ImageDirectory);
        return new Mount { Type = mount.Type, Source = mount.Source, Options = { mount.Options } };
    }

    private readonly ConcurrentBag<ShimLogPipe> _logPipes = [];
    private readonly ConcurrentBag<string> _addresses = [];
    private readonly ConcurrentBag<int> _shimPids = [];
    private readonly ConcurrentQueue<Envelope> _events = new();
    private readonly TtrpcServer _eventsServer;

    public ShimTestEnvironment()
    {
        // Fail, never skip: these tests exist to prove the real shim works here.
        if (!Environment.IsPrivilegedProcess)
            throw new InvalidOperationException("integration tests drive runc and must run as root");

        var random = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        Root = Path.Combine(TestRoot, random);
        StateDirectory = Path.Combine(Root, "state");
        RuncRoot = Path.Combine(Root, "runc");
        Namespace = "it-" + random;
        Directory.CreateDirectory(StateDirectory);
        Directory.CreateDirectory(RuncRoot);
        _eventsServer = TtrpcServer.Listen(Path.Combine(Root, "events.sock"),
            new TtrpcServiceRegistry().BindForward((envelope, _) =>
            {
                _events.Enqueue(envelope);
                return Task.CompletedTask;
            }));
        Settings = new ShimLaunchSettings(Path.Combine(Root, "grpc.sock"), _eventsServer.SocketPath)
        {
            RuncOptions = new RuncOptions(Root: RuncRoot),
        };
    }

    public string Root { get; }
    public string StateDirectory { get; }
    public string RuncRoot { get; }
    public string Namespace { get; }
    public ShimLaunchSettings Settings { get; }
    public RecordingLogger Logger { get; } = new();

    public IReadOnlyList<Envelope> Events => _events.ToArray();
    public IReadOnlyCollection<string> Addresses => _addresses.ToArray();

    /// <summary>A bundle whose config.json runs <paramref name="args"/> (default: a long sleep) in busybox.</summary>
    public Bundle CreateBundle(string id, params string[] args) =>
        Bundle.Create(StateDirectory, Namespace, id,
            OciSpec.ConfigJson(Namespace, id, new OciContainerSpec(args.Length > 0 ? args : ["sleep", "1000"])));

    /// <summary>Opens the log reader and runs <c>start</c> with a 10 s overall timeout, remembering the address.</summary>
    public async Task<string> StartShimAsync(Bundle bundle, ShimLaunchSettings? settings = null)
    {
        _logPipes.Add(ShimLogPipe.Open(bundle, Logger));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var address = await ShimBinary.StartAsync(bundle, settings ?? Settings, timeout.Token);
        _addresses.Add(address);
        return address;
    }

    /// <summary>Connects and calls Connect, remembering the shim's pid so Dispose can kill it.</summary>
    public async Task<(ShimTaskClient Client, ConnectResponse Connected)> ConnectAsync(string address, string id)
    {
        var connection = await TtrpcClient.ConnectAsync(address);
        var client = new ShimTaskClient(connection);
        var connected = await client.ConnectAsync(new ConnectRequest { Id = id }, new CallOptions(TimeSpan.FromSeconds(5)));
        _shimPids.Add((int)connected.ShimPid);
        return (client, connected);
    }

    public void TrackAddress(string address) => _addresses.Add(address);

    /// <summary>The socket path <c>start</c> derives: sha256 of path.Join(address, ns, id).</summary>
    public string ExpectedAddress(string id) =>
        "unix:///run/containerd/s/" +
        Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{Settings.GrpcAddress}/{Namespace}/{id}")));

    /// <summary>Shim processes that belong to this environment: started in its state directory or with its -address.</summary>
    public IReadOnlyList<HostProcesses.ProcessEntry> OwnShims() =>
        HostProcesses.All()
            .Where(HostProcesses.IsShim)
            .Where(p => (p.Cwd is not null && p.Cwd.StartsWith(StateDirectory + "/", StringComparison.Ordinal)) ||
                        p.CommandLine.Contains(Settings.GrpcAddress) ||
                        _shimPids.Contains(p.Pid))
            .ToList();

    /// <summary>Container ids runc still knows under this environment's root, per namespace directory.</summary>
    public IReadOnlyList<(string RuncRoot, string Id)> RuncContainers()
    {
        var containers = new List<(string, string)>();
        if (!Directory.Exists(RuncRoot)) return containers;
        foreach (var root in Directory.EnumerateDirectories(RuncRoot))
        {
            var (exitCode, output) = HostProcesses.Run("runc", "--root", root, "list", "-q");
            if (exitCode != 0) throw new InvalidOperationException($"runc --root {root} list failed: {output}");
            containers.AddRange(output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(id => (root, id)));
        }
        return containers;
    }

    /// <summary>
    /// The cgroup directories of this environment's namespace (OciSpec's cgroupsPath is /&lt;ns&gt;/&lt;id&gt;) in every
    /// hierarchy: runc removes /&lt;ns&gt;/&lt;id&gt; on delete but leaves the /&lt;ns&gt; parent behind.
    /// </summary>
    public IReadOnlyList<string> NamespaceCgroups() =>
        Directory.EnumerateDirectories("/sys/fs/cgroup")
            .Select(hierarchy => Path.Combine(hierarchy, Namespace))
            .Where(Directory.Exists)
            .ToList();

    public async ValueTask DisposeAsync()
    {
        var errors = new List<Exception>();
        void Try(Action action)
        {
            try { action(); }
            catch (Exception e) { errors.Add(e); }
        }

        foreach (var shim in OwnShims()) HostProcesses.Kill(shim.Pid);
        foreach (var pid in _shimPids) HostProcesses.Kill(pid);
        foreach (var shim in OwnShims())
            await HostProcesses.WaitUntilGoneAsync(shim.Pid, TimeSpan.FromSeconds(5));
        Try(() =>
        {
            foreach (var (root, id) in RuncContainers())
                HostProcesses.Run("runc", "--root", root, "delete", "--force", id);
        });
        Try(() => MountInfo.UnmountAllUnder(Root));
        // rmdir, deepest first: a cgroup directory is removed with rmdir even though it lists control files.
        foreach (var cgroup in NamespaceCgroups()
                     .SelectMany(c => Directory.EnumerateDirectories(c, "*", SearchOption.AllDirectories).Append(c))
                     .OrderByDescending(c => c.Length))
            Try(() => Directory.Delete(cgroup));
        foreach (var address in _addresses)
            Try(() => File.Delete(UnixSocket.PathOf(address)));
        foreach (var pipe in _logPipes) Try(pipe.Dispose);
        await _eventsServer.DisposeAsync();
        Try(() =>
        {
            if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
        });
        if (errors.Count > 0) throw new AggregateException("test environment cleanup failed", errors);
    }
}
