using System.Collections.Concurrent;
using ActorRuntime.Client.Embedded;
using ActorRuntime.Cluster;
using ActorRuntime.Hosting;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;
using CheckpointOptions = ActorRuntime.Tasks.CheckpointOptions;

namespace ActorRuntime.Client.Cluster;

/// <summary>A container with the node that runs it.</summary>
public sealed record PlacedContainer(string Node, ContainerInfo Container);

/// <summary>
/// <see cref="IContainerClient"/> across a cluster, from any node: every call by container id goes to the node that runs
/// it (the ownership map names it; <see cref="ClusterNode"/> routes through its pinned entity), where the embedded client's
/// own logic runs over that node's runtime. New containers are placed (<see cref="CreateAsync(NewContainer, Placement, CancellationToken)"/>);
/// lists span the nodes that are up. A node that cannot be reached fails the call at once with Unavailable naming it.
/// <para>Stdio: a process's FIFOs live on the node that runs it, so attaching (Attach on start, exec or reattach) works
/// only from that node; from another one it is FailedPrecondition naming the owner. Events: this node's only; the cluster's
/// merged stream is served by actorruntimed's Events/Subscribe in cluster mode (ClusterEventFeed).</para>
/// </summary>
public sealed class ClusterContainerClient : IContainerClient
{
    private readonly ContainerRuntime _local;
    private readonly ClusterNode _cluster;
    private readonly Nodes _nodes;

    /// <summary>
    /// Over this node's runtime (started in cluster mode). <paramref name="defaultPlacement"/> is where
    /// <see cref="CreateAsync(NewContainer, CancellationToken)"/> puts a container: anywhere unless said otherwise.
    /// </summary>
    public ClusterContainerClient(ContainerRuntime local, string? stateDirectory = null, Placement? defaultPlacement = null)
        : this(local, new Nodes(local, stateDirectory ?? Path.Combine(local.Settings.StateDirectory, "client")),
            defaultPlacement ?? Placement.Anywhere)
    {
    }

    private ClusterContainerClient(ContainerRuntime local, Nodes nodes, Placement defaultPlacement)
    {
        _local = local;
        _cluster = local.Cluster ?? throw new InvalidOperationException("the runtime is not in cluster mode (actor-runtime.cluster.seed-nodes)");
        _nodes = nodes;
        DefaultPlacement = defaultPlacement;
    }

    public string Namespace => _local.Namespace;

    /// <summary>This node's name.</summary>
    public string Node => _cluster.Self;

    public Placement DefaultPlacement { get; }

    public IContainerClient InNamespace(string @namespace)
    {
        Identifiers.Validate(@namespace, "namespace");
        return new ClusterContainerClient(_local.InNamespace(@namespace), _nodes, DefaultPlacement);
    }

    public Task<RuntimeVersion> VersionAsync(CancellationToken ct = default) => Client(Node).VersionAsync(ct);

    /// <summary>The namespaces of every node that is up.</summary>
    public async Task<IReadOnlyList<string>> NamespacesAsync(CancellationToken ct = default)
    {
        var all = await Task.WhenAll(_cluster.UpNodes.Select(n => Client(n).NamespacesAsync(ct)));
        return all.SelectMany(n => n).Distinct().Order(StringComparer.Ordinal).ToList();
    }

    // ---- containers ----

    public Task<ContainerInfo> CreateAsync(NewContainer container, CancellationToken ct = default) =>
        CreateAsync(container, DefaultPlacement, ct);

    /// <summary>Records the container on the node <paramref name="placement"/> picks; AlreadyExists when any node has the id.</summary>
    public async Task<ContainerInfo> CreateAsync(NewContainer container, Placement placement, CancellationToken ct = default)
    {
        Identifiers.Validate(container.Id, "container id");
        return await _cluster.PlaceAndCreateAsync(placement, _local, container.Id, (node, _) => Client(node).CreateAsync(container, ct), ct);
    }

    /// <summary>The node that runs the container (NotFound when none does).</summary>
    public Task<string> NodeOfAsync(string id, CancellationToken ct = default) => _cluster.OwnerAsync(Namespace, id, ct);

    public async Task<ContainerInfo> LoadAsync(string id, CancellationToken ct = default) =>
        await (await OwnerAsync(id, ct)).LoadAsync(id, ct);

    public async Task<IReadOnlyList<ContainerInfo>> ListAsync(CancellationToken ct = default) =>
        (await ListPlacedAsync(ct)).Select(p => p.Container).ToList();

    /// <summary>The containers of every node that is up, each with its node.</summary>
    public async Task<IReadOnlyList<PlacedContainer>> ListPlacedAsync(CancellationToken ct = default)
    {
        var perNode = await Task.WhenAll(_cluster.UpNodes.Select(async n =>
            (await Client(n).ListAsync(ct)).Select(c => new PlacedContainer(n, c))));
        return perNode.SelectMany(p => p).OrderBy(p => p.Container.Id, StringComparer.Ordinal).ToList();
    }

    public Task DeleteAsync(string id, CancellationToken ct = default) =>
        _cluster.DeleteOnOwnerAsync(_local, id, async _ => await (await OwnerAsync(id, ct)).DeleteAsync(id, ct), ct);

    public async Task<ExitResult?> ForceDeleteAsync(string id, CancellationToken ct = default)
    {
        ExitResult? exit = null;
        await _cluster.DeleteOnOwnerAsync(_local, id, async _ => exit = await (await OwnerAsync(id, ct)).ForceDeleteAsync(id, ct), ct);
        return exit;
    }

    // ---- the task ----

    public async Task<StartedProcess> StartAsync(string id, StartOptions options, CancellationToken ct = default) =>
        await (await OwnerAsync(id, ct, attaching: options.Attach is not null)).StartAsync(id, options, ct);

    public async Task<StartedProcess> ReattachAsync(string id, StdioAttach? attach, CancellationToken ct = default) =>
        await (await OwnerAsync(id, ct, attaching: attach is not null)).ReattachAsync(id, attach, ct);

    public async Task<TaskStatusInfo> StatusAsync(string id, CancellationToken ct = default) =>
        await (await OwnerAsync(id, ct)).StatusAsync(id, ct);

    public async Task PauseAsync(string id, CancellationToken ct = default) => await (await OwnerAsync(id, ct)).PauseAsync(id, ct);

    public async Task ResumeAsync(string id, CancellationToken ct = default) => await (await OwnerAsync(id, ct)).ResumeAsync(id, ct);

    public async Task<ContainerStats> StatsAsync(string id, CancellationToken ct = default) =>
        await (await OwnerAsync(id, ct)).StatsAsync(id, ct);

    public async Task<IReadOnlyList<ProcessSummary>> SummaryAsync(string id, CancellationToken ct = default) =>
        await (await OwnerAsync(id, ct)).SummaryAsync(id, ct);

    public async Task UpdateResourcesAsync(string id, string linuxResourcesJson, CancellationToken ct = default) =>
        await (await OwnerAsync(id, ct)).UpdateResourcesAsync(id, linuxResourcesJson, ct);

    /// <summary>The image is written on the node that runs the container, at the path given.</summary>
    public async Task CheckpointAsync(string id, CheckpointOptions options, CancellationToken ct = default) =>
        await (await OwnerAsync(id, ct)).CheckpointAsync(id, options, ct);

    public async Task<ExitResult> DeleteTaskAsync(string id, CancellationToken ct = default) =>
        await (await OwnerAsync(id, ct)).DeleteTaskAsync(id, ct);

    // ---- any process ----

    public async Task<StartedProcess> ExecAsync(string id, string execId, ExecOptions options, CancellationToken ct = default) =>
        await (await OwnerAsync(id, ct, attaching: options.Attach is not null)).ExecAsync(id, execId, options, ct);

    public async Task SignalAsync(string id, string? execId, int signal, bool all = false, CancellationToken ct = default) =>
        await (await OwnerAsync(id, ct)).SignalAsync(id, execId, signal, all, ct);

    public async Task ResizeAsync(string id, string? execId, uint width, uint height, CancellationToken ct = default) =>
        await (await OwnerAsync(id, ct)).ResizeAsync(id, execId, width, height, ct);

    public async Task CloseStdinAsync(string id, string? execId, CancellationToken ct = default) =>
        await (await OwnerAsync(id, ct)).CloseStdinAsync(id, execId, ct);

    public async Task<ExitResult> WaitAsync(string id, string? execId, CancellationToken ct = default) =>
        await (await OwnerAsync(id, ct)).WaitAsync(id, execId, ct);

    public async Task<ExitResult> DeleteProcessAsync(string id, string execId, CancellationToken ct = default) =>
        await (await OwnerAsync(id, ct)).DeleteProcessAsync(id, execId, ct);

    // ---- events ----

    /// <summary>This node's events (each node's bus has its own offsets; the cluster-wide stream is issue 13 point 3).</summary>
    public Task<IAsyncDisposable> SubscribeAsync(IContainerEventBackend backend, long? afterOffset = null, CancellationToken ct = default) =>
        Client(Node).SubscribeAsync(backend, afterOffset, ct);

    public ValueTask DisposeAsync() => _nodes.DisposeAsync();

    /// <summary>
    /// The client of the node that runs <paramref name="id"/>, in this namespace; an id no node claims is this node's (its
    /// NotFound is the runtime's own). Attaching stdio to a process of another node is refused: its FIFOs would be made here.
    /// </summary>
    private async Task<IContainerClient> OwnerAsync(string id, CancellationToken ct, bool attaching = false)
    {
        var node = await _cluster.Owners.OwnerAsync(Namespace, id, ct) ?? Node;
        if (attaching && node != Node)
            throw TtrpcException.FromStatus(TtrpcCode.FailedPrecondition,
                $"container {id} runs on node {node}: its stdio can be attached only there (this is node {Node}); " +
                "start it without stdio, with a log file, or from a client on that node");
        return Client(node);
    }

    private IContainerClient Client(string node) => _nodes.Of(node, _cluster).InNamespace(Namespace);

    /// <summary>One embedded client per node, shared by the namespace views: this node's over its runtime, the others' over their views.</summary>
    private sealed class Nodes(ContainerRuntime local, string stateDirectory) : IAsyncDisposable
    {
        private readonly ConcurrentDictionary<string, Lazy<EmbeddedContainerClient>> _clients = new();

        public EmbeddedContainerClient Of(string node, ClusterNode cluster) =>
            _clients.GetOrAdd(node, n => new Lazy<EmbeddedContainerClient>(() =>
                new EmbeddedContainerClient(cluster.On(n, local, local.Namespace), stateDirectory),
                // An unreachable node's Unavailable is not kept: the next call tries again.
                LazyThreadSafetyMode.PublicationOnly)).Value;

        public async ValueTask DisposeAsync()
        {
            foreach (var client in _clients.Values.Where(c => c.IsValueCreated)) await client.Value.DisposeAsync();
        }
    }
}
