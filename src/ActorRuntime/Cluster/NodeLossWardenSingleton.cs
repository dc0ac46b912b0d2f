using Akka.Actor;
using Akka.Cluster.Tools.Singleton;

namespace ActorRuntime.Cluster;

/// <summary>The <see cref="NodeLossWarden"/> as a cluster singleton: its manager on every node, and a proxy to the one that runs.</summary>
public static class NodeLossWardenSingleton
{
    /// <summary>
    /// Starts the singleton's manager on this node and returns a proxy to the one warden, wherever it runs (messages wait
    /// in the proxy until it is found).
    /// </summary>
    public static IActorRef Start(ActorSystem system, ClusterSettings settings, TimeSpan timeout)
    {
        // Started before sharding, which would otherwise be the one to bring the singleton's defaults in.
        system.Settings.InjectTopLevelFallback(ClusterSingleton.DefaultConfig());
        var owners = new ContainerOwners(system, timeout);
        system.ActorOf(ClusterSingletonManager.Props(
            NodeLossWarden.Props(settings.NodeLostGracePeriod, settings.StableAfter, owners),
            PoisonPill.Instance, ClusterSingletonManagerSettings.Create(system)), NodeLossWarden.Name);
        return system.ActorOf(ClusterSingletonProxy.Props($"/user/{NodeLossWarden.Name}", ClusterSingletonProxySettings.Create(system)),
            NodeLossWarden.Name + "-proxy");
    }
}
