using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using static ActorRuntime.Cluster.NodeFenceProtocol;

namespace ActorRuntime.Cluster;

/// <summary>
/// The cluster's one judge of node loss, a cluster singleton: it hears the membership and keeps a <see cref="NodeFence"/>
/// per node, telling it when its node is downed or removed, and passing it what the node itself asks when it starts
/// (<see cref="Returning"/>) and reports (<see cref="ReportFenced"/>). One actor in the cluster decides, so a node's return
/// and the end of its grace period are taken in one order: a node either returns before it is given up, or is fenced.
/// <para>A warden that takes over after the old one's node went away never saw that node leave: every few seconds it
/// also looks for nodes the ownership map gives containers to that are not in the membership, and marks one lost once it
/// has been missing for <c>stable-after</c> (longer than a returning node takes to show up again).</para>
/// </summary>
public sealed class NodeLossWarden : ReceiveActor
{
    public const string Name = "node-loss-warden";

    private readonly TimeSpan _grace;
    private readonly TimeSpan _missingFor;
    private readonly ContainerOwners _owners;
    private readonly string _busPersistenceId;
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, DateTimeOffset> _missingSince = [];
    private ICancelable? _sweeps;

    private sealed record Sweep;

    private sealed record Owning(IReadOnlyCollection<string> Nodes);

    public static Props Props(TimeSpan grace, TimeSpan missingFor, ContainerOwners owners, string busPersistenceId) =>
        Akka.Actor.Props.Create(() => new NodeLossWarden(grace, missingFor, owners, busPersistenceId));

    public NodeLossWarden(TimeSpan grace, TimeSpan missingFor, ContainerOwners owners, string busPersistenceId)
    {
        (_grace, _missingFor, _owners, _busPersistenceId) = (grace, missingFor, owners, busPersistenceId);
        Receive<ClusterEvent.MemberDowned>(d => Lost(d.Member));
        Receive<ClusterEvent.MemberRemoved>(r => Lost(r.Member));
        Receive<ClusterEvent.MemberUp>(u =>
        {
            if (NodeOf(u.Member) is { } node)
                FenceOf(node).Tell(new SeenUp(node, u.Member.UniqueAddress.Uid, DateTimeOffset.UtcNow));
        });
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<ClusterEvent.CurrentClusterState>(_ => { });
        Receive<INodeFenceCommand>(command => FenceOf(command.Node).Forward(command));
        Receive<Sweep>(_ => _owners.AllAsync().PipeTo(Self, success: all => new Owning(all.Values.ToHashSet()),
            failure: e => new Status.Failure(e)));
        Receive<Owning>(owning => MarkMissing(owning.Nodes));
        Receive<Status.Failure>(f => _log.Warning("node-loss warden: the ownership map could not be read ({0})", f.Cause.Message));
    }

    protected override void PreStart()
    {
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
            typeof(ClusterEvent.IMemberEvent));
        _sweeps = Context.System.Scheduler.ScheduleTellRepeatedlyCancelable(TimeSpan.Zero, TimeSpan.FromSeconds(2), Self,
            new Sweep(), Self);
    }

    protected override void PostStop()
    {
        _sweeps?.Cancel();
        _cluster.Unsubscribe(Self);
    }

    private void Lost(Member member)
    {
        if (NodeOf(member) is not { } node) return;
        FenceOf(node).Tell(new MarkLost(node, member.UniqueAddress.Uid, DateTimeOffset.UtcNow));
    }

    private void MarkMissing(IReadOnlyCollection<string> owning)
    {
        var present = _cluster.State.Members.Where(m => m.Status is not (MemberStatus.Down or MemberStatus.Removed))
            .Select(NodeOf).OfType<string>().ToHashSet();
        var now = DateTimeOffset.UtcNow;
        foreach (var node in _missingSince.Keys.Where(n => present.Contains(n) || !owning.Contains(n)).ToList())
            _missingSince.Remove(node);
        foreach (var node in owning.Where(n => !present.Contains(n)))
        {
            if (!_missingSince.TryGetValue(node, out var since)) _missingSince[node] = since = now;
            if (now - since >= _missingFor) FenceOf(node).Tell(new MarkLost(node, null, since));
        }
    }

    private static string? NodeOf(Member member) => member.Roles
        .FirstOrDefault(r => r.StartsWith(ClusterSettings.RolePrefix, StringComparison.Ordinal))?[ClusterSettings.RolePrefix.Length..];

    private IActorRef FenceOf(string node)
    {
        var name = "fence-" + node;
        var fence = Context.Child(name);
        return fence.IsNobody() ? Context.ActorOf(NodeFence.Props(node, _grace, _owners, ClusterSettings.ScopedPersistenceId(_busPersistenceId, node)), name) : fence;
    }
}
