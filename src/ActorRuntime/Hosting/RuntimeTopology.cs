using ActorRuntime.Cluster;
using ActorRuntime.Configuration;
using ActorRuntime.Diagnostics;
using ActorRuntime.Events;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorRuntime.Hosting;

/// <summary>
/// The one way the runtime starts: its actor system's setup (<see cref="Setup"/>: the configuration, <see cref="Config"/>,
/// and the SQLite connections' synchronous level) and its actors (<see cref="Start"/>), always
/// with the durable stores. Akka.Hosting's <c>WithActorRuntime</c>, the host tool, arctl and every test go through here.
/// <code>
/// event-bus        exactly-once exit/delete: journal (back-off supervisor) → writer; subscriptions
/// processes        durable process records (what a restarted runtime still owes; releases runs on the bus); back-off supervisor → store
/// containers       durable container metadata; back-off supervisor → store
/// namespaces       durable namespaces and their labels (the API's Namespaces service); back-off supervisor → store
/// leases           durable leases (the API's Leases service; recorded only, nothing to collect); back-off supervisor → store
/// shim-manager     one shim actor per container → task actor → exec actors; exits (the door to the bus for exits)
/// (cluster mode)   node-loss-warden: a cluster singleton with a fence per node (given up after the grace period, fenced
///                  on return, see <see cref="NodeLossWarden"/>); the shim manager loads nothing before this node's fence says
/// (cluster mode)   sharding/containers: one entity per container, pinned to its node, forwarding to the actors above;
///                  cluster-free-memory: this node's MemAvailable for placement (see <see cref="ClusterNode"/>)
/// </code>
/// Every persistent actor runs under a back-off supervisor (<see cref="PersistenceBackoff"/>), since Akka stops one whose
/// journal write failed; the references everyone holds are the supervisors', which pass messages on with the sender kept.
/// </summary>
public static class RuntimeTopology
{
    /// <summary>What the options set, persistence included; to be laid over everything else.</summary>
    public static Config Overrides(ActorRuntimeOptions options) =>
        ConfigurationFactory.ParseString(options.ToHocon())
            .WithFallback(ActorRuntimePersistence.Overrides(ActorRuntimePersistence.Resolve(options.Persistence, options)));

    /// <summary>The shipped defaults (hocon/actorruntime.conf and the SQL plugins' own).</summary>
    public static Config Defaults => ActorRuntimePersistence.Defaults;

    /// <summary>The whole configuration of a runtime's actor system: options over the defaults.</summary>
    public static Config Config(ActorRuntimeOptions options) => Overrides(options).WithFallback(Defaults);

    /// <summary>
    /// What a runtime's actor system is created from: <see cref="Config"/> (or <paramref name="config"/>, when the caller
    /// laid its own settings over it) and the data options that set <c>PRAGMA synchronous</c> on the SQLite journal's
    /// and snapshot store's connections (<see cref="ActorRuntimePersistence.Setup"/>).
    /// </summary>
    public static ActorSystemSetup Setup(ActorRuntimeOptions options, Config? config = null)
    {
        var whole = config ?? Config(options);
        var setup = ActorRuntimePersistence.Setup(PersistenceSettings.Create(whole), whole);
        return ClusterSettings.Create(whole).SerializerSetup() is { } json ? setup.And(json) : setup;
    }

    /// <summary>
    /// Starts the runtime's actors in <paramref name="system"/> (created from <see cref="Setup"/>). A second runtime in
    /// the same system, after the first was stopped (<see cref="ContainerRuntime.StopAsync"/>), takes another
    /// <paramref name="prefix"/>: it recovers the same durable state and reloads the same shims, as a restarted process does.
    /// </summary>
    public static ContainerRuntime Start(ActorSystem system, ActorRuntimeOptions options, ILoggerFactory? loggers = null,
        string prefix = "")
    {
        StartupTrace.Mark("topology start");
        var settings = RuntimeSettings.Create(system.Settings.Config);
        var persistence = PersistenceSettings.Create(system.Settings.Config);
        var cluster = ClusterSettings.Create(system.Settings.Config);
        cluster.EnsurePersistence(persistence);
        persistence.EnsureStorage();
        cluster.Join(system);
        var node = cluster.PersistenceScope;
        var busSettings = EventBusSettings.Create(system.Settings.Config);
        var bus = system.ActorOf(EventBus.Props(busSettings with { PersistenceId = cluster.PersistenceId(busSettings.PersistenceId) }),
            prefix + "event-bus");
        var backoff = PersistenceBackoff.Create(system.Settings.Config);
        var processes = system.ActorOf(backoff.Supervise(ProcessStore.Props(settings.Namespace, bus, node), "store", "process store"),
            prefix + "processes");
        var containers = system.ActorOf(backoff.Supervise(ContainerStore.Props(settings.Namespace, node), "store", "container store"),
            prefix + "containers");
        var namespaces = system.ActorOf(backoff.Supervise(NamespaceStore.Props(node), "store", "namespace store"), prefix + "namespaces");
        var leases = system.ActorOf(backoff.Supervise(LeaseStore.Props(node), "store", "lease store"), prefix + "leases");
        var shims = ShimSettings.Create(settings) with { FailPoints = FailPoints.Create(system.Settings.Config) };
        var launcher = (options.ShimLauncher ?? (launch => new BinaryShimLauncher(launch)))(shims.Launch);
        var shimLog = (loggers ?? NullLoggerFactory.Instance).CreateLogger("ActorRuntime.Shims");
        // Cluster mode: the node-loss warden (a singleton) says what was given up while this node was away; that is
        // fenced before any shim loads.
        Func<CancellationToken, Task>? beforeLoad = null;
        // The ownership map, one view of it for the warden, the node's return and its sharding side.
        var owners = cluster.Enabled ? new ContainerOwners(system, settings.CallTimeout + settings.CallTimeout) : null;
        if (owners is not null)
        {
            var warden = NodeLossWardenSingleton.Start(system, cluster, owners, busSettings.PersistenceId);
            var uid = Akka.Cluster.Cluster.Get(system).SelfUniqueAddress.Uid;
            beforeLoad = new NodeReturn(warden, cluster.NodeName, uid, shims, launcher, processes, containers, backoff, owners,
                (loggers ?? NullLoggerFactory.Instance).CreateLogger("ActorRuntime.Cluster")).FenceAsync;
        }
        var manager = system.ActorOf(ShimManager.Props(shims, launcher, bus, processes, shimLog, beforeLoad), prefix + "shim-manager");
        var actors = new RuntimeActors(bus, manager, processes, containers, namespaces, leases);
        var runtime = new ContainerRuntime(actors, settings);
        // Cluster mode: every node's containers reachable from here through their pinned entities.
        var clusterNode = owners is not null ? ClusterNode.Start(system, cluster, settings, actors, owners, runtime.CommandTimeout) : null;
        StartupTrace.Mark("topology actors created");
        return clusterNode is null ? runtime : new ContainerRuntime(actors, settings, cluster: clusterNode);
    }
}

/// <summary>The runtime's top-level actors.</summary>
public sealed record RuntimeActors(IActorRef EventBus, IActorRef ShimManager, IActorRef Processes, IActorRef Containers,
    IActorRef Namespaces, IActorRef Leases)
{
    public IEnumerable<IActorRef> All => [ShimManager, Processes, Containers, Namespaces, Leases, EventBus];
}
