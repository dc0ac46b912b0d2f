using Akka.Actor;
using Akka.Cluster.Tools.Singleton;

namespace ActorRuntime.Cluster;

/// <summary>The <see cref="NodeLossWarden"/> as a cluster singleton: its manager on every node, and a proxy to the one that runs.</summary>
public static class NodeLossWardenSingleton
{
    /// <summary>
    /// Starts the singleton's manager on this node and returns a proxy to the one warden, wherever it runs (messages wait
    /// in the proxy until it is found). <paramref name="busPersistenceId"/>: the event bus's persistence id before a node's
    /// scope is added (each node's bus is "&lt;it&gt;@&lt;node&gt;"), for fencing a lost node's bus.
    /// </summary>
    public static IActorRef Start(ActorSystem system, ClusterSettings settings, ContainerOwners owners, string busPersistenceId)
    {
        // Started before sharding, which would otherwise be the one to bring the singleton's defaults in.
        system.Settings.InjectTopLevelFallback(ClusterSingleton.DefaultConfig());
        system.ActorOf(ClusterSingletonManager.Props(
            NodeLossWarden.Props(settings.NodeLostGracePeriod, settings.StableAfter, owners, busPersistenceId),
            PoisonPill.Instance, ClusterSingletonManagerSettings.Create(system)), NodeLossWarden.Name);
        return system.ActorOf(ClusterSingletonProxy.Props($"/user/{NodeLossWarden.Name}", ClusterSingletonProxySettings.Create(system)),
            NodeLossWarden.Name + "-proxy");
    }
}
