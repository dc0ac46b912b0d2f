using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Akka.Cluster;

namespace ActorRuntime.Cluster;

/// <summary>
/// Stands in for one runtime actor of another node (its shim manager, its container store...): what it is sent goes to
/// that node through the container's entity, and the answer comes back to the sender, so a
/// <see cref="Hosting.ContainerRuntime"/> over gateways drives the other node exactly as its own runtime would.
/// <para>A node that cannot be asked now gets a Failed Unavailable naming it at once (<see cref="NodeReachability"/>).
/// Each call in flight waits in a <see cref="GatewayCall"/> child, so a node that goes silent after the call left (a
/// crash, a freeze, a cut link) fails the calls it holds with Unavailable naming it as soon as the cluster sees it
/// unreachable, instead of leaving them to their deadline.</para>
/// </summary>
public sealed class NodeGateway : ReceiveActor
{
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);

    public NodeGateway(IActorRef region, string node, ContainerEntityProtocol.Target target)
    {
        var role = ClusterSettings.RoleOf(node);
        Receive<ClusterEvent.CurrentClusterState>(_ => { });
        Receive<ClusterEvent.UnreachableMember>(m =>
        {
            if (m.Member.HasRole(role)) FailCalls($"node {node} is unreachable");
        });
        Receive<ClusterEvent.MemberRemoved>(m =>
        {
            if (m.Member.HasRole(role)) FailCalls($"node {node} left the cluster");
        });
        ReceiveAny(command =>
        {
            var containerId = ContainerIdOf(command);
            if (NodeReachability.Unavailable(node, _cluster.State) is { } why)
            {
                Sender.Tell(new TaskProtocol.Failed(containerId, TtrpcCode.Unavailable, why));
                return;
            }
            var call = Context.ActorOf(GatewayCall.Props(Sender, containerId));
            region.Tell(new ContainerEntityProtocol.Route(ContainerEntityIds.For(node, command), target, command), call);
        });
    }

    public static Props Props(IActorRef region, string node, ContainerEntityProtocol.Target target) =>
        Akka.Actor.Props.Create(() => new NodeGateway(region, node, target));

    protected override void PreStart() =>
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
            typeof(ClusterEvent.UnreachableMember), typeof(ClusterEvent.MemberRemoved));

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private void FailCalls(string why)
    {
        foreach (var call in Context.GetChildren()) call.Tell(new GatewayCall.NodeLost(why));
    }

    private static string ContainerIdOf(object command) => ContainerEntityIds.ContainerOf(command)?.Id ?? "";
}

/// <summary>
/// One call through a <see cref="NodeGateway"/>: the first answer goes to the caller, or, if the node is lost first, a
/// Failed Unavailable naming it. No timer of its own: a call such as Wait may rightly take as long as its caller waits,
/// and a caller that gave up leaves this to end with the answer or with the node.
/// </summary>
internal sealed class GatewayCall : ReceiveActor
{
    public sealed record NodeLost(string Why);

    public GatewayCall(IActorRef replyTo, string containerId)
    {
        Receive<NodeLost>(lost =>
        {
            replyTo.Tell(new TaskProtocol.Failed(containerId, TtrpcCode.Unavailable, lost.Why));
            Context.Stop(Self);
        });
        ReceiveAny(answer =>
        {
            replyTo.Tell(answer);
            Context.Stop(Self);
        });
    }

    public static Props Props(IActorRef replyTo, string containerId) =>
        Akka.Actor.Props.Create(() => new GatewayCall(replyTo, containerId));
}
