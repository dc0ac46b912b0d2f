using ActorRuntime.Hosting;
using ActorRuntime.Store;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace ActorRuntime.Cluster;

/// <summary>
/// A container's sharded entity, living on the node that runs its shim (its shard is pinned there): it hands every
/// routed command to that node's own runtime actor, which answers the original sender directly. The runtime stays as
/// it is; the entity is only the address by which any node reaches it. Once the container's record is deleted the entity
/// passivates, so remember-entities does not bring it back.
/// </summary>
public sealed class ContainerEntity : ReceiveActor
{
    public ContainerEntity(RuntimeActors local, TimeSpan commandTimeout)
    {
        Receive<ContainerEntityProtocol.Route>(route =>
        {
            var target = Target(local, route.Target);
            if (route.Command is ContainerStoreProtocol.Delete)
            {
                // Asked here rather than forwarded: the entity must see the answer to know whether to stop.
                var replyTo = Sender;
                target.Ask<object>(route.Command, commandTimeout)
                    .PipeTo(Self, success: reply => new ContainerEntityProtocol.Answered(reply, replyTo),
                        failure: e => new ContainerEntityProtocol.Answered(new Status.Failure(e), replyTo));
                return;
            }
            target.Forward(route.Command);
        });
        Receive<ContainerEntityProtocol.Answered>(answered =>
        {
            answered.ReplyTo.Tell(answered.Reply);
            if (answered.Reply is ContainerStoreProtocol.Deleted) Context.Parent.Tell(new Passivate(PoisonPill.Instance));
        });
    }

    public static Props Props(RuntimeActors local, TimeSpan commandTimeout) =>
        Akka.Actor.Props.Create(() => new ContainerEntity(local, commandTimeout));

    public static IActorRef Target(RuntimeActors local, ContainerEntityProtocol.Target target) => target switch
    {
        ContainerEntityProtocol.Target.EventBus => local.EventBus,
        ContainerEntityProtocol.Target.ShimManager => local.ShimManager,
        ContainerEntityProtocol.Target.Processes => local.Processes,
        ContainerEntityProtocol.Target.Containers => local.Containers,
        ContainerEntityProtocol.Target.Namespaces => local.Namespaces,
        ContainerEntityProtocol.Target.Leases => local.Leases,
        _ => throw new ArgumentOutOfRangeException(nameof(target), target, "no such runtime actor"),
    };
}
