using ActorRuntime.Containers;
using ActorRuntime.Events;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;

namespace ActorRuntime.Cluster;

/// <summary>
/// Fences a lost node's event bus in the journal before the cluster publishes its containers' given-up exits: a
/// short-lived second writer of that bus's persistence id (<c>event-bus@&lt;node&gt;</c>) that recovers the bus's state,
/// writes <see cref="RunsGivenUp"/> for the containers at the next sequence number, tells its parent which of them the
/// bus had already delivered an exit for, and stops.
///
/// <para>Why: a node frozen past its grace period does not know it was given up when it thaws, and its bus may publish a
/// queued exit of a given-up container before the node learns it was downed. The journal holds (persistence id, sequence
/// number) unique, so that bus's next write takes a number this one took and is refused; the bus stops, recovers (this
/// entry included) and drops every later copy of those runs' exits and deletes as duplicates. An exit the bus wrote
/// before this recovery is reported instead, so the cluster does not publish a second one.</para>
///
/// <para>A failed recovery or write stops this actor without a reply; the parent (the node's <see cref="NodeFence"/>)
/// watches it and tries again.</para>
/// </summary>
public sealed class BusFence : ReceivePersistentActor
{
    private readonly IReadOnlyList<ContainerKey> _containers;
    private readonly DateTimeOffset _at;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private EventBusLedger _bus = EventBusLedger.Empty;

    /// <summary>A run's state just before the first give-up replayed for it: what the bus itself had delivered.</summary>
    private readonly Dictionary<RunKey, RunState?> _beforeGiveUp = [];

    /// <summary>The bus's standing for the given-up containers, as it was just before <see cref="RunsGivenUp"/>.</summary>
    public sealed record Fenced(string PersistenceId, IReadOnlyList<ContainerKey> Containers, IReadOnlyList<NodeFenceProtocol.ExitOnBus> Exited);

    public BusFence(string busPersistenceId, IReadOnlyList<ContainerKey> containers, DateTimeOffset at)
    {
        (PersistenceId, _containers, _at) = (busPersistenceId, containers, at);
        // The journal the bus writes to (EventBusWriter falls back to the same one when none is configured).
        if (string.IsNullOrEmpty(Context.System.Settings.Config.GetString("akka.persistence.journal.plugin", "")))
            JournalPluginId = "akka.persistence.journal.inmem";
        if (string.IsNullOrEmpty(Context.System.Settings.Config.GetString("akka.persistence.snapshot-store.plugin", "")))
            SnapshotPluginId = "akka.persistence.snapshot-store.inmem";
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is EventBusSnapshot s) _bus = _bus.Restored(s.ToState());
        });
        Recover<RunsGivenUp>(g =>
        {
            // An earlier fence of this bus (its give-up then not written, and retried): the bus's own exit is the one
            // from before that fence's mark, not the mark.
            foreach (var key in g.Keys) _beforeGiveUp.TryAdd(key, _bus.Written.RunOf(key));
            _bus = _bus.Replayed(g);
        });
        Recover<IBusJournalEntry>(e => _bus = _bus.Replayed(e));
        Recover<RecoveryCompleted>(_ => Fence());
    }

    public override string PersistenceId { get; }

    public static Props Props(string busPersistenceId, IReadOnlyList<ContainerKey> containers, DateTimeOffset at) =>
        Akka.Actor.Props.Create(() => new BusFence(busPersistenceId, containers, at));

    /// <summary>A refused write leaves a persistent actor running: stop, so the parent's watch retries.</summary>
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        Context.Stop(Self);
    }

    private void Fence()
    {
        var bus = _bus.Written;
        var exited = _containers
            .Select(c => new RunKey(c.Namespace, c.Id, ""))
            .Select(key => (Container: new ContainerKey(key.Namespace, key.ContainerId),
                Run: _beforeGiveUp.TryGetValue(key, out var before) ? before : bus.RunOf(key)))
            .Where(x => x.Run is { Exited: true, Deleted: false, ExitStatus: not null })
            .Select(x => new NodeFenceProtocol.ExitOnBus(x.Container, x.Run!.ExitStatus!.Value, x.Run.ExitedAt))
            .ToList();
        var givenUp = bus.DecideGiveUp(_containers.Select(c => new RunKey(c.Namespace, c.Id, "")), NodeFenceState.GivenUpExitStatus, _at);
        var parent = Context.Parent;
        Persist(givenUp, _ =>
        {
            _log.Info("{0} fenced at sequence number {1}: {2} runs given up", PersistenceId, LastSequenceNr, givenUp.Keys.Count);
            parent.Tell(new Fenced(PersistenceId, _containers, exited));
            Context.Stop(Self);
        });
    }
}
