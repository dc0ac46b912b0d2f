using ActorRuntime.Containers;
using ActorRuntime.Store;
using Akka.Actor;
using Akka.Event;
using static ActorRuntime.Cluster.NodeFenceProtocol;

namespace ActorRuntime.Cluster;

/// <summary>
/// One node's fence (persistence id <c>node-fence@&lt;node&gt;</c>), a child of the <see cref="NodeLossWarden"/>: it journals
/// the node's losses and returns (<see cref="NodeFenceState"/> decides), and does the I/O around them — when the grace
/// period of a loss passes it reads the node's containers from the ownership map and gives them up (their exits and
/// deletes written with the decision, in one atomic write, so each is published once however often this is retried),
/// then releases them in the map, where the node still has them. A fence that starts again (the warden moved to another
/// node) recovers the same standing and timers from the journal.
/// </summary>
public sealed class NodeFence : DurableActor<NodeFenceState, INodeFenceCommand, NodeFenceEvent>, IWithTimers
{
    public const string PersistenceIdPrefix = "node-fence";

    private readonly string _node;
    private readonly TimeSpan _grace;
    private readonly ContainerOwners _owners;
    private readonly string _busPersistenceId;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    public ITimerScheduler Timers { get; set; } = null!;

    private sealed record GraceOver;

    private sealed record OwnersFailed(Exception Cause);

    private sealed record OwnersRead(IReadOnlyList<ContainerKey> Containers, DateTimeOffset LostAt);

    private IActorRef? _busFence;
    private int _busFences;

    private sealed record Released(IReadOnlyList<string> Failed);

    private sealed record ReleaseAgain;

    private DateTimeOffset _pendingLostAt;

    public NodeFence(string node, TimeSpan grace, ContainerOwners owners, string busPersistenceId)
        : base(PersistenceIdOf(node), NodeFenceState.Empty, new SnapshotPolicy(Every: 1000))
    {
        (_node, _grace, _owners, _busPersistenceId) = (node, grace, owners, busPersistenceId);
        Command<GraceOver>(_ => GiveUpIfDue());
        Command<OwnersRead>(read =>
        {
            // Still this give-up, and no fence of the bus under way (a timer may have fired twice).
            if (State.Status != NodeFenceState.Standing.GivingUp || State.LostAt != read.LostAt || _busFence is not null) return;
            _busFence = Context.Watch(Context.ActorOf(BusFence.Props(_busPersistenceId, read.Containers, DateTimeOffset.UtcNow),
                $"bus-fence-{++_busFences}"));
            _pendingLostAt = read.LostAt;
        });
        Command<BusFence.Fenced>(fenced =>
        {
            if (_busFence is { } child) Context.Unwatch(child);
            _busFence = null;
            Self.Tell(new GiveUp(_node, fenced.Containers, _pendingLostAt, DateTimeOffset.UtcNow, fenced.Exited));
        });
        Command<Terminated>(t =>
        {
            if (!t.ActorRef.Equals(_busFence)) return;
            _busFence = null;
            _log.Warning("node {0}: its event bus {1} could not be fenced in the journal; trying again", _node, _busPersistenceId);
            Schedule(TimeSpan.FromSeconds(1));
        });
        Command<Released>(r =>
        {
            if (r.Failed.Count == 0) return;
            _log.Warning("node {0}: {1} given-up ids stay in the ownership map for now ({2}); trying again", _node, r.Failed.Count,
                string.Join("; ", r.Failed));
            Timers.StartSingleTimer(nameof(ReleaseAgain), new ReleaseAgain(), TimeSpan.FromSeconds(2));
        });
        Command<ReleaseAgain>(_ =>
        {
            if (State.Status == NodeFenceState.Standing.GivenUp) ReleaseInMap(State.ToFence);
        });
        Command<OwnersFailed>(f =>
        {
            _log.Warning("node {0}: its containers could not be read from the ownership map ({1}); trying again", _node, f.Cause.Message);
            Schedule(TimeSpan.FromSeconds(1));
        });
    }

    /// <summary><paramref name="busPersistenceId"/>: the node's event bus (<c>event-bus@&lt;node&gt;</c>), fenced before its containers are given up.</summary>
    public static Props Props(string node, TimeSpan grace, ContainerOwners owners, string busPersistenceId) =>
        Akka.Actor.Props.Create(() => new NodeFence(node, grace, owners, busPersistenceId));

    /// <summary>"node-fence@n2": the suffix is the node, as with every node's persistence ids, so the stream names it.</summary>
    public static string PersistenceIdOf(string node) => ClusterSettings.ScopedPersistenceId(PersistenceIdPrefix, node);

    protected override Store.Decision<NodeFenceEvent> Decide(INodeFenceCommand command) => State.Decide(command);

    protected override void Recovered() => Resume();

    protected override void Written(NodeFenceEvent evt, NodeFenceState before)
    {
        switch (evt)
        {
            case NodeFenceEvent.Lost:
                _log.Warning("node {0} is lost; its containers are given up at {1:O} unless it returns", _node, State.GraceEndsAt(_grace));
                Resume();
                break;
            case NodeFenceEvent.Serving when before.Status == NodeFenceState.Standing.Lost:
                _log.Info("node {0} returned within its grace period", _node);
                Timers.Cancel(nameof(GraceOver));
                break;
            case NodeFenceEvent.GivingUp:
                FenceBus();
                break;
            case NodeFenceEvent.GivenUp:
                _log.Warning("node {0}: grace period over; {1} containers given up (exit 255, \"{2}\")", _node, State.ToFence.Count,
                    NodeFenceState.Reason);
                Resume();
                break;
            case NodeFenceEvent.Fenced:
                _log.Info("node {0} fenced what was given up and serves again", _node);
                break;
        }
    }

    /// <summary>What the standing asks for now: the grace timer while lost, the bus's fence while giving up, the map's release once given up.</summary>
    private void Resume()
    {
        if (State.GraceEndsAt(_grace) is { } end) Schedule(end - DateTimeOffset.UtcNow);
        if (State.Status == NodeFenceState.Standing.GivingUp) FenceBus();
        if (State.Status == NodeFenceState.Standing.GivenUp) ReleaseInMap(State.ToFence);
    }

    private void Schedule(TimeSpan after) =>
        Timers.StartSingleTimer(nameof(GraceOver), new GraceOver(), after < TimeSpan.Zero ? TimeSpan.Zero : after);

    private void GiveUpIfDue()
    {
        if (State.Status == NodeFenceState.Standing.GivingUp)
        {
            FenceBus(); // a retry
            return;
        }
        if (State.GraceEndsAt(_grace) is not { } end) return;
        if (end > DateTimeOffset.UtcNow)
        {
            Schedule(end - DateTimeOffset.UtcNow);
            return;
        }
        Self.Tell(new BeginGiveUp(_node, State.LostAt!.Value, DateTimeOffset.UtcNow));
    }

    /// <summary>
    /// Giving up: the node's containers from the ownership map, then its bus fenced in the journal (<see cref="BusFence"/>),
    /// then the give-up decided with what the bus reports. A failure anywhere is retried from here.
    /// </summary>
    private void FenceBus()
    {
        if (_busFence is not null || State.LostAt is not { } lostAt) return;
        _owners.OfNodeAsync(_node).PipeTo(Self, success: containers => new OwnersRead(containers, lostAt),
            failure: e => new OwnersFailed(e));
    }

    /// <summary>
    /// Releases the given-up ids (only where the map still gives them to this node, so repeating is safe); what could
    /// not be written is tried again while the node stays given up (the returning node releases them too, before it
    /// reports itself fenced).
    /// </summary>
    private void ReleaseInMap(IReadOnlyList<ContainerKey> containers)
    {
        var owners = _owners;
        var node = _node;
        async Task<Released> ReleaseAllAsync()
        {
            var failed = new List<string>();
            foreach (var c in containers)
            {
                try
                {
                    await owners.ReleaseIfOwnedAsync(c.Namespace, c.Id, node);
                }
                catch (Exception e)
                {
                    failed.Add($"{c}: {e.Message}");
                }
            }
            return new Released(failed);
        }
        ReleaseAllAsync().PipeTo(Self);
    }
}
