using System.Collections.Immutable;
using ActorRuntime.Configuration;
using ActorRuntime.Protocol;
using ActorRuntime.Store;
using Akka.Configuration;

namespace ActorRuntime.Cluster;

/// <summary>
/// Resolved <c>actor-runtime.cluster</c> settings. Cluster mode is on when <see cref="SeedNodes"/> is not empty; off, the
/// runtime is the single node it always was (<see cref="AkkaConfig"/> empty, persistence ids unchanged).
/// </summary>
public sealed record ClusterSettings(
    ImmutableArray<string> SeedNodes,
    string NodeName,
    string Host,
    int Port,
    string SplitBrainStrategy,
    TimeSpan StableAfter,
    TimeSpan DownRemovalMargin,
    TimeSpan NodeLostGracePeriod,
    TimeSpan FreeMemoryInterval)
{
    public const string Section = "actor-runtime.cluster";

    /// <summary>Strategies Akka.Cluster's split-brain resolver knows (akka.cluster.split-brain-resolver.active-strategy).</summary>
    public static readonly ImmutableArray<string> Strategies = ["keep-majority", "static-quorum", "keep-oldest", "down-all", "lease-majority"];

    public bool Enabled => !SeedNodes.IsEmpty;

    /// <summary>
    /// How long a node tries to join before it gives up and actorruntimed starts its runtime again in place (a new
    /// incarnation). A node restarted before the cluster removed its previous incarnation was seen to stay refused for
    /// minutes (its InitJoin acknowledged, its Join never welcomed); the next incarnation joins.
    /// </summary>
    public TimeSpan RestartAfterUnsuccessfulJoin { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The cluster role naming this node; a container's shard is allocated to the member that has it.</summary>
    public string Role => RoleOf(NodeName);

    public static string RoleOf(string nodeName) => RolePrefix + nodeName;

    public const string RolePrefix = "node-";

    public static ClusterSettings Create(Config config)
    {
        var c = config.WithFallback(RuntimeSettings.DefaultConfig).GetConfig(Section);
        var name = c.GetString("node-name", "") is { Length: > 0 } given ? given : Environment.MachineName.ToLowerInvariant();
        var settings = new ClusterSettings(
            [..c.GetStringList("seed-nodes").Select(s => s.Trim())],
            name,
            c.GetString("host", "127.0.0.1"),
            c.GetInt("port", 4053),
            c.GetString("split-brain-resolver.active-strategy", "keep-majority").Trim().ToLowerInvariant(),
            c.GetTimeSpan("split-brain-resolver.stable-after", TimeSpan.FromSeconds(20)),
            c.GetTimeSpan("down-removal-margin", TimeSpan.FromSeconds(20)),
            c.GetTimeSpan("node-lost-grace-period", TimeSpan.FromMinutes(5)),
            c.GetTimeSpan("free-memory-interval", TimeSpan.FromSeconds(5)))
        {
            RestartAfterUnsuccessfulJoin = c.GetTimeSpan("restart-after-unsuccessful-join", TimeSpan.FromSeconds(30)),
        };
        settings.Validate();
        return settings;
    }

    public static ClusterSettings Create(ClusterRuntimeOptions options) =>
        Create(ConfigurationFactory.ParseString(options.ToHocon()));

    private void Validate()
    {
        if (!Enabled) return;
        // The name becomes a role, a shard id and a persistence-id suffix: containerd's identifier rule keeps it safe in all three.
        Identifiers.Validate(NodeName, $"{Section}.node-name");
        if (Port is < 0 or > 65535) throw new ArgumentException($"{Section}.port: {Port} is not a TCP port (0-65535)");
        if (Host.Length == 0) throw new ArgumentException($"{Section}.host must not be empty in cluster mode");
        if (!Strategies.Contains(SplitBrainStrategy))
            throw new ArgumentException(
                $"{Section}.split-brain-resolver.active-strategy: unknown strategy \"{SplitBrainStrategy}\" ({string.Join(", ", Strategies)})");
        foreach (var seed in SeedNodes) _ = SeedAddress(seed, "sys");
    }

    /// <summary>A seed as Akka wants it: "host:port" becomes akka.tcp://<paramref name="system"/>@host:port.</summary>
    public static string SeedAddress(string seed, string system)
    {
        if (seed.StartsWith("akka.tcp://", StringComparison.Ordinal)) return seed;
        var colon = seed.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(seed[(colon + 1)..], out var port) || port is <= 0 or > 65535)
            throw new ArgumentException($"{Section}.seed-nodes: \"{seed}\" is not host:port nor an akka.tcp:// address");
        return $"akka.tcp://{system}@{seed}";
    }

    /// <summary>
    /// The Akka settings cluster mode stands for (provider, remoting, this node's role, the split-brain resolver), to be laid
    /// over everything else; empty when cluster mode is off. No seed nodes: the runtime joins them itself once its start
    /// checked the settings (<see cref="Join"/>), so a refused node never enters the cluster.
    /// </summary>
    public Config AkkaConfig() => Enabled ? ConfigurationFactory.ParseString(AkkaHocon()) : Config.Empty;

    /// <summary>What <see cref="AkkaConfig"/> parses: the Akka settings of cluster mode as HOCON text.</summary>
    public string AkkaHocon()
    {
        if (!Enabled) return "";
        return $"""
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp.hostname = {Hocon.Quote(Host)}
            akka.remote.dot-netty.tcp.port = {Port}
            akka.cluster.roles = [{Hocon.Quote(Role)}]
            akka.cluster.downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
            akka.cluster.split-brain-resolver.active-strategy = {SplitBrainStrategy}
            akka.cluster.split-brain-resolver.stable-after = {(long)StableAfter.TotalMilliseconds}ms
            akka.cluster.down-removal-margin = {(long)DownRemovalMargin.TotalMilliseconds}ms
            akka.cluster.shutdown-after-unsuccessful-join-seed-nodes = {(long)RestartAfterUnsuccessfulJoin.TotalMilliseconds}ms
            # Containers' shards pinned to their nodes (PinnedAllocationStrategy): the coordinator's state in ddata, the
            # remembered entities on the shared journal (durable ddata is broken on this mirror: docs/akka-stack.md §3.3).
            akka.cluster.sharding.state-store-mode = ddata
            akka.cluster.sharding.remember-entities = on
            akka.cluster.sharding.remember-entities-store = eventsourced
            akka.cluster.sharding.retry-interval = 1s
            """;
    }

    /// <summary>
    /// The JSON serializer's settings for messages between nodes (routed commands and their replies): type names on objects
    /// only, so a list or dictionary comes back as the declared interface's plain implementation whatever the sender made
    /// (a collection expression's compiler-made type has no constructor Newtonsoft can call); no reference ids, which an
    /// immutable dictionary (a container's labels) cannot be read back with, and which acyclic records do not need. Null
    /// off cluster mode.
    /// </summary>
    public Akka.Serialization.NewtonSoftJsonSerializerSetup? SerializerSetup() => Enabled
        ? Akka.Serialization.NewtonSoftJsonSerializerSetup.Create(s =>
        {
            s.TypeNameHandling = Newtonsoft.Json.TypeNameHandling.Objects;
            s.PreserveReferencesHandling = Newtonsoft.Json.PreserveReferencesHandling.None;
        })
        : null;

    /// <summary>Joins the cluster through the seed nodes (addresses of <paramref name="system"/>'s name); nothing off cluster mode.</summary>
    public void Join(Akka.Actor.ActorSystem system)
    {
        if (!Enabled) return;
        Akka.Cluster.Cluster.Get(system).JoinSeedNodes(SeedNodes.Select(s => Akka.Actor.Address.Parse(SeedAddress(s, system.Name))));
    }

    /// <summary>
    /// A persistent actor's id on this node: unchanged on a single node (what existing databases hold), suffixed with the
    /// node's name in cluster mode, where every node writes to the one shared journal.
    /// </summary>
    public string PersistenceId(string id) => ScopedPersistenceId(id, PersistenceScope);

    /// <summary>The node whose name suffixes persistence ids: null on a single node.</summary>
    public string? PersistenceScope => Enabled ? NodeName : null;

    /// <summary>The one spelling of a node's persistence id: "<paramref name="id"/>@<paramref name="node"/>".</summary>
    public static string ScopedPersistenceId(string id, string? node) => node is null ? id : $"{id}@{node}";

    /// <summary>
    /// Cluster mode keeps its journal in the shared PostgreSQL: a SQLite file is one machine's, so the nodes' stores would
    /// diverge and a node's state would not outlive its disk. In-memory stays allowed for tests.
    /// </summary>
    public void EnsurePersistence(PersistenceSettings persistence)
    {
        if (Enabled && persistence.Provider == PersistenceProvider.Sqlite)
            throw new InvalidOperationException(
                $"cluster mode ({Section}.seed-nodes is set) needs the shared PostgreSQL journal, not SQLite: set " +
                "actor-runtime.persistence.provider = postgresql and its connection-string (the same database on every node)");
    }
}
