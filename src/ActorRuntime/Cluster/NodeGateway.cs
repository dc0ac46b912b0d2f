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
/// Each call in flight is an ask of the region (a lightweight temporary reference, not an actor: no actor is created
/// per call), held here, so a node that goes silent after the call left (a crash, a freeze, a cut link) fails the calls
/// it holds with Unavailable naming it as soon as the cluster sees it unreachable, instead of leaving them to their
/// deadline. No timer of its own: a call such as Wait may rightly take as long as its caller waits.</para>
/// </summary>
public sealed class NodeGateway : ReceiveActor
{
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly Dictionary<long, Call> _inFlight = [];
    private long _calls;

    private sealed record Call(IActorRef Caller, string ContainerId, CancellationTokenSource Abandon);

    private sealed record CallEnded(long Id);

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
        Receive<CallEnded>(ended =>
        {
            if (_inFlight.Remove(ended.Id, out var call)) call.Abandon.Dispose();
        });
        ReceiveAny(command =>
        {
            var containerId = ContainerIdOf(command);
            if (NodeReachability.Unavailable(node, _cluster.State) is { } why)
            {
                Sender.Tell(new TaskProtocol.Failed(containerId, TtrpcCode.Unavailable, why));
                return;
            }
            var call = new Call(Sender, containerId, new CancellationTokenSource());
            var id = ++_calls;
            _inFlight[id] = call;
            var self = Self;
            region.Ask<object>(new ContainerEntityProtocol.Route(ContainerEntityIds.For(node, command), target, command), call.Abandon.Token)
                .ContinueWith(asked =>
                {
                    // The first answer goes to the caller as it came (a failure as Status.Failure); an abandoned call
                    // was answered by FailCalls already.
                    if (asked.IsCompletedSuccessfully) call.Caller.Tell(asked.Result);
                    else if (!asked.IsCanceled) call.Caller.Tell(new Status.Failure(asked.Exception!.GetBaseException()));
                    self.Tell(new CallEnded(id));
                }, TaskContinuationOptions.ExecuteSynchronously);
        });
    }

    public static Props Props(IActorRef region, string node, ContainerEntityProtocol.Target target) =>
        Akka.Actor.Props.Create(() => new NodeGateway(region, node, target));

    protected override void PreStart() =>
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
            typeof(ClusterEvent.UnreachableMember), typeof(ClusterEvent.MemberRemoved));

    protected override void PostStop()
    {
        _cluster.Unsubscribe(Self);
        FailCalls("the node's gateway stopped");
    }

    private void FailCalls(string why)
    {
        foreach (var call in _inFlight.Values)
        {
            call.Caller.Tell(new TaskProtocol.Failed(call.ContainerId, TtrpcCode.Unavailable, why));
            call.Abandon.Cancel();
            call.Abandon.Dispose();
        }
        _inFlight.Clear();
    }

    private static string ContainerIdOf(object command) => ContainerEntityIds.ContainerOf(command)?.Id ?? "";
}
