using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;

namespace ActorRuntime.Cluster;

/// <summary>
/// Stands in for one runtime actor of another node (its shim manager, its container store...): what it is sent goes to
/// that node through the container's entity, the sender kept, so a <see cref="Hosting.ContainerRuntime"/> over gateways
/// drives the other node exactly as its own runtime would. A node that cannot be asked now gets a Failed Unavailable
/// naming it at once (<see cref="NodeReachability"/>).
/// </summary>
public sealed class NodeGateway : ReceiveActor
{
    public NodeGateway(IActorRef region, string node, ContainerEntityProtocol.Target target)
    {
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        ReceiveAny(command =>
        {
            if (NodeReachability.Unavailable(node, cluster.State) is { } why)
            {
                Sender.Tell(new TaskProtocol.Failed(ContainerIdOf(command), TtrpcCode.Unavailable, why));
                return;
            }
            region.Tell(new ContainerEntityProtocol.Route(ContainerEntityIds.For(node, command), target, command), Sender);
        });
    }

    public static Props Props(IActorRef region, string node, ContainerEntityProtocol.Target target) =>
        Akka.Actor.Props.Create(() => new NodeGateway(region, node, target));

    private static string ContainerIdOf(object command) => ContainerEntityIds.For("-", command) is var entity
        && ContainerEntityIds.ContainerOf(entity) is { } container ? container.Id : "";
}
