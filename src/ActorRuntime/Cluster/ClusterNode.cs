using System.Collections.Concurrent;
using ActorRuntime.Configuration;
using ActorRuntime.Hosting;
using ActorRuntime.Protocol.Ttrpc;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace ActorRuntime.Cluster;

/// <summary>
/// This node's part of the cluster, started by <see cref="RuntimeTopology"/> in cluster mode: the "containers" shard region
/// whose entities reach each node's own runtime, the ownership map, placement, and a <see cref="ContainerRuntime"/> view of
/// any node (<see cref="On"/>) so every client drives a container of another node the way it drives its own.
/// </summary>
public sealed class ClusterNode
{
    public const string RegionName = "containers";

    private readonly ActorSystem _system;
    private readonly IActorRef _region;
    private readonly RuntimeSettings _settings;
    private readonly ConcurrentDictionary<string, Lazy<RuntimeActors>> _gateways = new();
    private readonly SemaphoreSlim _placing = new(1, 1);

    private ClusterNode(ActorSystem system, ClusterSettings cluster, IActorRef region, RuntimeSettings settings, ContainerOwners owners)
    {
        (_system, _region, _settings, Settings, Owners) = (system, region, settings, cluster, owners);
    }

    public ClusterSettings Settings { get; }

    /// <summary>This node's name.</summary>
    public string Self => Settings.NodeName;

    public ContainerOwners Owners { get; }

    /// <summary>The shard region the containers' entities live in.</summary>
    public IActorRef Region => _region;

    /// <summary>Starts the region (pinned shards, remembered entities) and the free-memory publisher over the local runtime.</summary>
    public static ClusterNode Start(ActorSystem system, ClusterSettings cluster, RuntimeSettings settings, RuntimeActors local,
        ContainerOwners owners, TimeSpan commandTimeout)
    {
        // The region's entities are bound to this runtime's actors for the life of the system: a second runtime in the
        // same system (tests restart one that way) would be reached through the first one's stopped actors.
        if (Of(system) is not null)
            throw new InvalidOperationException("cluster mode runs one runtime per actor system: restart the process to restart the node");
        var region = ClusterSharding.Get(system).Start(RegionName, ContainerEntity.Props(local, commandTimeout),
            ClusterShardingSettings.Create(system), new ContainerMessageExtractor(), new PinnedAllocationStrategy(),
            PoisonPill.Instance);
        system.ActorOf(NodeMemoryPublisher.Props(cluster.NodeName, cluster.FreeMemoryInterval), "cluster-free-memory");
        system.ActorOf(QuarantineWatch.Props(), "cluster-quarantine-watch");
        var node = new ClusterNode(system, cluster, region, settings, owners);
        Nodes.Add(system, node);
        return node;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ActorSystem, ClusterNode> Nodes = new();

    /// <summary>The cluster node the runtime of <paramref name="system"/> started; null off cluster mode.</summary>
    public static ClusterNode? Of(ActorSystem system) => Nodes.TryGetValue(system, out var node) ? node : null;

    /// <summary>
    /// The cluster's one event stream, live, from after <paramref name="position"/> (see <see cref="ClusterEventFeed"/>); a
    /// slow reader only lags behind the journal, nothing queues up for it.
    /// </summary>
    public IAsyncEnumerable<ClusterTaskEvent> EventsAfter(long position) =>
        ClusterEventFeed.From(_system, position, live: true, singleNode: Self).RunAsAsyncEnumerable(_system.Materializer());

    /// <summary>The position of the journal's last event now (<see cref="ClusterEventFeed.EndAsync"/>).</summary>
    public Task<long> EventsEndAsync(CancellationToken ct = default) => ClusterEventFeed.EndAsync(_system, ct);

    /// <summary>The nodes that can take a container now.</summary>
    public IReadOnlyList<string> UpNodes => NodeReachability.UpNodes(Akka.Cluster.Cluster.Get(_system).State);

    /// <summary>Why <paramref name="node"/> cannot be asked now, or null.</summary>
    public string? Unavailable(string node) =>
        node == Self ? null : NodeReachability.Unavailable(node, Akka.Cluster.Cluster.Get(_system).State);

    /// <summary>The node a new container goes to (see <see cref="NodeLoads.Choose"/>).</summary>
    private async Task<string> PlaceAsync(Placement placement, CancellationToken ct = default)
    {
        var up = UpNodes;
        if (placement is Placement.Named named && up.Contains(named.Node)) return named.Node;
        var counts = await Owners.CountsAsync(ct);
        var memory = await NodeMemoryPublisher.ReadAllAsync(_system, _settings.CallTimeout, ct);
        return NodeLoads.Of(up, counts, memory).Choose(placement);
    }

    /// <summary>The node running the container; NotFound when none does.</summary>
    public async Task<string> OwnerAsync(string ns, string id, CancellationToken ct = default) =>
        await Owners.OwnerAsync(ns, id, ct)
        ?? throw TtrpcException.FromStatus(TtrpcCode.NotFound, $"container \"{id}\" in namespace \"{ns}\": not found");

    /// <summary>
    /// <paramref name="local"/> (this node's runtime) in <paramref name="ns"/> for this node; for another node, the same
    /// runtime API over gateways to that node's actors. Unavailable naming the node when it cannot be asked now.
    /// </summary>
    public ContainerRuntime On(string node, ContainerRuntime local, string ns)
    {
        if (node == Self) return local.InNamespace(ns);
        if (Unavailable(node) is { } why) throw TtrpcException.FromStatus(TtrpcCode.Unavailable, why);
        return Routed(node, ns);
    }

    /// <summary>
    /// The view of the node that owns container <paramref name="id"/> in <paramref name="local"/>'s namespace; an id no
    /// node claims is looked up on this node (so its NotFound is the runtime's own, and a container made before cluster
    /// mode is still found).
    /// </summary>
    public async Task<ContainerRuntime> OwnerViewAsync(ContainerRuntime local, string id, CancellationToken ct = default) =>
        await Owners.OwnerAsync(local.Namespace, id, ct) is { } node ? On(node, local, local.Namespace) : local;

    /// <summary>
    /// The containers of <paramref name="ns"/> whose node is not up and reachable now (crashed, frozen, cut off, or down
    /// and not yet back), with that node: what a cluster-wide list reports as unknown instead of leaving out.
    /// </summary>
    public async Task<IReadOnlyList<(string Id, string Node)>> UnreachableContainersAsync(string ns, CancellationToken ct = default)
    {
        var up = UpNodes.ToHashSet();
        var prefix = ContainerOwners.EntryOf(ns, "");
        return [.. (await Owners.AllAsync(ct))
            .Where(e => e.Key.StartsWith(prefix, StringComparison.Ordinal) && !up.Contains(e.Value))
            .Select(e => (e.Key[prefix.Length..], e.Value))
            .OrderBy(e => e.Item1, StringComparer.Ordinal)];
    }

    /// <summary>Every node that is up, with its view in <paramref name="local"/>'s namespace (a list spans these).</summary>
    public IReadOnlyList<(string Node, ContainerRuntime View)> Views(ContainerRuntime local) =>
        [..UpNodes.Order(StringComparer.Ordinal).Select(n => (n, On(n, local, local.Namespace)))];

    /// <summary>
    /// The one way a container is made in cluster mode: a node chosen by <paramref name="placement"/> and the id claimed
    /// for it cluster-wide (AlreadyExists naming the owner when another node has it), then <paramref name="create"/> on
    /// that node's view; a create that fails gives the id back, unless the node already had it (then the claim is the
    /// truth). This node takes its placement decisions one at a time, each claim written to a majority before the next
    /// decision counts, so a burst of "anywhere" creates through one node spreads instead of piling on the node that
    /// was least loaded when the burst began.
    /// </summary>
    public async Task<T> PlaceAndCreateAsync<T>(Placement placement, ContainerRuntime local, string id,
        Func<string, ContainerRuntime, Task<T>> create, CancellationToken ct = default)
    {
        string node;
        ContainerRuntime view;
        await _placing.WaitAsync(ct);
        try
        {
            node = await PlaceAsync(placement, ct);
            view = On(node, local, local.Namespace);
            await Owners.ClaimAsync(local.Namespace, id, node, ct);
        }
        finally
        {
            _placing.Release();
        }
        try
        {
            return await create(node, view);
        }
        catch (Exception e) when (e is not AlreadyExistsException)
        {
            await Owners.ReleaseAsync(local.Namespace, id, CancellationToken.None);
            throw;
        }
    }

    /// <summary>Deletes through the owner's view, then forgets the owner (a failed delete keeps it).</summary>
    public async Task DeleteOnOwnerAsync(ContainerRuntime local, string id, Func<ContainerRuntime, Task> delete, CancellationToken ct = default)
    {
        await delete(await OwnerViewAsync(local, id, ct));
        await Owners.ReleaseAsync(local.Namespace, id, CancellationToken.None);
    }

    /// <summary>The runtime API of <paramref name="node"/> through its entities, whichever node it is (this one included).</summary>
    internal ContainerRuntime Routed(string node, string ns) =>
        new(_gateways.GetOrAdd(node, n => new Lazy<RuntimeActors>(() => Gateways(n))).Value, _settings, ns);

    private RuntimeActors Gateways(string node)
    {
        IActorRef To(ContainerEntityProtocol.Target target) =>
            _system.ActorOf(NodeGateway.Props(_region, node, target), $"cluster-gateway-{node}-{target.ToString().ToLowerInvariant()}");
        return new RuntimeActors(To(ContainerEntityProtocol.Target.EventBus), To(ContainerEntityProtocol.Target.ShimManager),
            To(ContainerEntityProtocol.Target.Processes), To(ContainerEntityProtocol.Target.Containers),
            To(ContainerEntityProtocol.Target.Namespaces), To(ContainerEntityProtocol.Target.Leases));
    }
}
