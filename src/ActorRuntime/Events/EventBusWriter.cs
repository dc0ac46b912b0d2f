using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using static ActorRuntime.Events.EventBusProtocol;

namespace ActorRuntime.Events;

/// <summary>
/// The persistent half of the <see cref="EventBus"/>: decides each <see cref="Publish"/>, journals every
/// <see cref="EventDelivered"/> decision (and <see cref="RunsForgotten"/>), snapshots its state every
/// <see cref="EventBusSettings.SnapshotEvery"/> writes and rebuilds it on recovery, so an exit/delete delivered before a
/// restart is dropped as a duplicate after it. <see cref="Release"/> (from the process store, as it forgets a record)
/// and the periodic prune journal which runs it keeps (<see cref="RunsReleased"/>, <see cref="RunsForgotten"/>).
///
/// <para>Publishing never waits for the database: the decision is taken and applied at once (<see cref="EventBusLedger"/>),
/// and the event is written with PersistAsync. As soon as the journal confirms the write, the writer hands the event to
/// the subscription side (<see cref="SubscriptionHub"/>, its sibling) and acks the publisher, so subscribers see only
/// written events, without a read back from the database. It is the only writer of its events: their offsets are its own
/// delivery numbers (1, 2, 3, …), and the journal is read only to replay them for <see cref="SubscribeFrom"/>.</para>
///
/// <para>A rejected write is rolled back in the ledger and its publisher told (it may retry). A failed write stops the
/// writer (Akka's rule: the journal's state is unknown); every publisher still waiting is told it failed, and the back-off
/// supervisor starts the writer again, which recovers what the journal really holds and tells the hub.</para>
/// </summary>
internal sealed class EventBusWriter : ReceivePersistentActor, IWithTimers
{
    private readonly EventBusSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private EventBusLedger _ledger = EventBusLedger.Empty;
    private readonly IActorRef _subscriptions; // the hub

    public EventBusWriter(EventBusSettings settings, IActorRef subscriptions)
    {
        _settings = settings;
        _subscriptions = subscriptions;
        PersistenceId = settings.PersistenceId;
        var config = Context.System.Settings.Config;
        if (string.IsNullOrEmpty(config.GetString("akka.persistence.journal.plugin", "")))
            JournalPluginId = "akka.persistence.journal.inmem";
        if (string.IsNullOrEmpty(config.GetString("akka.persistence.snapshot-store.plugin", "")))
            SnapshotPluginId = "akka.persistence.snapshot-store.inmem";

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is EventBusSnapshot s) _ledger = _ledger.Restored(s.ToState());
        });
        Recover<EventDelivered>(d => _ledger = _ledger.Replayed(d));
        Recover<IRunBookkeeping>(b => _ledger = _ledger.Replayed(b));
        Recover<RecoveryCompleted>(_ => Resume());

        Command<Publish>(OnPublish);
        Command<GetStats>(_ => _subscriptions.Forward(new SubscriptionHub.CollectStats(
            _ledger.Decided.DroppedDuplicates, _ledger.Decided.DroppedStale, _ledger.Decided.Runs.Count)));
        // What is written, not what is decided: whoever asks acts on what survives a crash.
        Command<GetRun>(g => Sender.Tell(new RunInfo(g.Key, _ledger.Written.RunOf(g.Key))));
        Command<Release>(r => Keep(_ledger.Decided.DecideRelease(r.Runs, Context.System.Scheduler.Now)));
        Command<PruneTick>(_ => Keep(_ledger.Decided.DecidePrune(Context.System.Scheduler.Now, _settings.Retention)));
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "EventBus snapshot at {0} failed", f.Metadata.SequenceNr));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning(f.Cause, "Deleting old EventBus snapshots failed"));
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(EventBusSettings settings, IActorRef subscriptions) =>
        Akka.Actor.Props.Create(() => new EventBusWriter(settings, subscriptions));

    protected override void PreStart()
    {
        base.PreStart();
        Timers.StartPeriodicTimer(nameof(PruneTick), PruneTick.Instance, _settings.PruneInterval);
    }

    /// <summary>Recovered: the hub learns where the journal ends (and, after a restart, reads back what it missed).</summary>
    private void Resume()
    {
        var journal = Persistence.Instance.Apply(Context.System).JournalFor(JournalPluginId);
        var live = _ledger.Written.LastOffset;
        _subscriptions.Tell(new SubscriptionHub.Resume(live, journal));
        _log.Info("EventBus {0} recovered; live delivery continues after offset {1}", PersistenceId, live);
    }

    private void OnPublish(Publish publish)
    {
        var decision = _ledger.Decided.Decide(publish.Event, Context.System.Scheduler.Now, _settings.Retention);
        var publisher = publish.WantAck ? Sender : null;
        _ledger = _ledger.Took(decision, publisher);
        switch (decision)
        {
            case EventDelivered delivered:
                PersistAsync(delivered, OnWritten);
                break;
            case EventDropped dropped:
                _log.Debug("Dropped {0} {1}: {2}", dropped.Reason, dropped.Event.Topic, dropped.Detail);
                if (!_ledger.WaitsForWrite(dropped)) publisher?.Tell(Answer(dropped));
                break;
            default:
                throw new InvalidOperationException($"unknown decision {decision}");
        }
    }

    private static Published Answer(EventDropped dropped) =>
        new(dropped.Event, dropped.Reason == DropReason.Duplicate ? PublishOutcome.DroppedDuplicate : PublishOutcome.DroppedStale);

    /// <summary>The journal confirmed the write: the event goes live now, then its publisher learns the offset.</summary>
    private void OnWritten(EventDelivered delivered)
    {
        var (ledger, write) = _ledger.Confirmed(delivered);
        _ledger = ledger;
        _subscriptions.Tell(new SubscriptionHub.Live(delivered.Event));
        write.Publisher?.Tell(new Published(delivered.Event, PublishOutcome.Delivered));
        foreach (var (publisher, copy) in write.Duplicates) publisher.Tell(Answer(copy));
        MaybeSnapshot();
    }

    /// <summary>Journals a change of which runs are kept (released or forgotten), if there is one.</summary>
    private void Keep(IRunBookkeeping? bookkeeping)
    {
        if (bookkeeping is null) return;
        _ledger = _ledger.Took(bookkeeping);
        PersistAsync(bookkeeping, b =>
        {
            _ledger = _ledger.Confirmed(b).Ledger;
            MaybeSnapshot();
        });
        if (bookkeeping is RunsForgotten forgotten)
            _log.Debug("Forgot {0} finished runs; {1} tracked", forgotten.Keys.Count, _ledger.Decided.Runs.Count);
    }

    /// <summary>
    /// Called in a write confirmation, where the snapshot's sequence number is that of the write just confirmed, which
    /// is exactly what <see cref="EventBusLedger.Written"/> holds.
    /// </summary>
    private void MaybeSnapshot()
    {
        if (!_ledger.SnapshotDue(_settings.SnapshotEvery)) return;
        // Drop counters live only in the decided state (a drop writes nothing); the rest is what is written.
        SaveSnapshot(EventBusSnapshot.Of(_ledger.Written with
        {
            DroppedDuplicates = _ledger.Decided.DroppedDuplicates,
            DroppedStale = _ledger.Decided.DroppedStale,
        }));
        _ledger = _ledger.SnapshotTaken();
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        if (@event is not IBusJournalEntry rejected) return;
        var (ledger, write) = _ledger.Rejected(rejected);
        _ledger = ledger;
        foreach (var publisher in write.Waiting) publisher.Tell(new Status.Failure(cause));
    }

    /// <summary>
    /// Stopped, after a failed write or otherwise: no write still in flight will be confirmed here, so each publisher
    /// waiting for one learns it failed (the write may or may not have happened; a retry is decided anew after recovery).
    /// </summary>
    protected override void PostStop()
    {
        foreach (var publisher in _ledger.InFlight.SelectMany(w => w.Waiting))
            publisher.Tell(new Status.Failure(Store.PersistenceBackoff.Unavailable($"event bus {PersistenceId}")));
        base.PostStop();
    }

    private sealed record PruneTick
    {
        public static readonly PruneTick Instance = new();
    }
}
