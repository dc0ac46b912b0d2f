using ActorRuntime.Containers;
using ActorRuntime.Diagnostics;
using ActorRuntime.Events;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Akka.Event;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.Shims;

/// <summary>
/// Supervises one shim actor per container: starts one for a Create and forwards the Create to it like every other
/// command, reloads the shims it finds on disk at start (each under its own load timeout, all in parallel), routes
/// commands by container id, and runs the dead-shim cleanup when a shim actor stops without having released its bundle
/// (or says, before it stops, that its connection was lost).
/// It owns <see cref="Exits"/> and our events endpoint, through which the shims' own events come in.
/// </summary>
public sealed class ShimManager : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    private readonly ShimSettings _settings;
    private readonly ShimServices _services;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<IActorRef> _loadWaiters = [];
    private ShimManagerState _state = ShimManagerState.Empty;
    private EventsEndpoint? _events;
    private readonly CancellationTokenSource _stopping = new();
    private readonly PersistenceBackoff _backoff = PersistenceBackoff.Create(Context.System.Settings.Config);
    private int _reloaded, _cleanedUp;
    private long _shimRuns;

    private sealed record CleanupDone(DeadShimCleanup.Outcome Outcome);

    private sealed record CleanupFailed(ContainerKey Container, Exception Cause);

    /// <summary>The settling of lost records is done (written, or given up waiting for).</summary>
    private sealed record RecordsSettled;

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>What must be done before any shim is loaded (cluster mode: fencing what was given up; see <see cref="Cluster.NodeReturn"/>).</summary>
    private readonly Func<CancellationToken, Task>? _beforeLoad;

    private sealed record BeforeLoadDone;

    private sealed record BeforeLoadFailed(Exception Cause);

    public ShimManager(ShimSettings settings, IShimLauncher launcher, IActorRef eventBus, IActorRef processes, ILogger shimLog,
        Func<CancellationToken, Task>? beforeLoad = null)
    {
        _settings = settings;
        _beforeLoad = beforeLoad;
        _services = new ShimServices(launcher, eventBus, Context.ActorOf(Exits.Props(eventBus), "exits"), processes, shimLog, Self);
        if (beforeLoad is null) AwaitingRecords();
        else BeforeLoad();
    }

    /// <summary>Nothing is loaded, listened to or answered until <see cref="_beforeLoad"/> is done; a failure is retried.</summary>
    private void BeforeLoad()
    {
        Receive<BeforeLoadDone>(_ =>
        {
            Become(AwaitingRecords);
            StartLoading();
        });
        Receive<BeforeLoadFailed>(f =>
        {
            _log.Error(f.Cause, "what must precede loading the shims failed; trying again");
            Timers.StartSingleTimer(nameof(BeforeLoadDue), new BeforeLoadDue(), _backoff.Max);
        });
        Receive<BeforeLoadDue>(_ => RunBeforeLoad());
        ReceiveAny(_ => Stash.Stash());
    }

    private sealed record BeforeLoadDue;

    private void RunBeforeLoad() => _beforeLoad!(_stopping.Token)
        .PipeTo(Self, success: () => new BeforeLoadDone(), failure: e => new BeforeLoadFailed(e));

    private void AwaitingRecords()
    {
        // The shims found on disk are already reloading (StartLoading); meanwhile the durable process records recover. They
        // say which exits are owed where a bundle is gone, and which execs to re-attach.
        Receive<ProcessStoreProtocol.All>(all =>
        {
            StartupTrace.Mark("shim manager: records recovered");
            SettleRecords(all.Tasks);
            Become(Settling);
        });
        Receive<Status.Failure>(f => throw new InvalidOperationException("process store did not answer", f.Cause));
        ReceiveAny(_ => Stash.Stash());
    }

    public static Props Props(ShimSettings settings, IShimLauncher launcher, IActorRef eventBus, IActorRef processes, ILogger shimLog,
        Func<CancellationToken, Task>? beforeLoad = null) =>
        Akka.Actor.Props.Create(() => new ShimManager(settings, launcher, eventBus, processes, shimLog, beforeLoad));

    private void Ready()
    {
        // Bad input is answered here, before a name reaches a lookup, an actor name or a path: nothing a caller sends may
        // throw in the manager (a restart would drop every shim actor and every reply in flight).
        Receive<TaskProtocol.InNamespace>(envelope => TaskProtocol.CheckIds(envelope) is not null, envelope =>
            Sender.Tell(TaskProtocol.Failed.From(envelope.Command?.ContainerId ?? "", TaskProtocol.CheckIds(envelope)!)));
        Receive<TaskProtocol.InNamespace>(envelope =>
        {
            var container = new ContainerKey(envelope.Namespace, envelope.Command.ContainerId);
            // An id with a shim actor goes to it too: that actor holds the bundle, so it answers AlreadyExists.
            if (envelope.Command is TaskProtocol.Create create)
                (_state.ShimOf(container) ?? StartShim(container, new ShimActor.Launch())).Forward(create);
            else if (_state.ShimOf(container) is { } shim) shim.Forward(envelope.Command);
            else Sender.Tell(TaskProtocol.Failed.NotFound(container.Id));
        });
        Receive<ShimManagerProtocol.Registered>(r =>
        {
            (_state, var reloaded) = _state.TaskRegistered(new(r.Namespace, r.ContainerId), Sender);
            if (reloaded) _reloaded++;
            ReplyLoadedIfDone();
        });
        Receive<ShimManagerProtocol.Released>(r =>
        {
            _state = _state.ShimReleased(new(r.Namespace, r.ContainerId), Sender);
            Sender.Tell(new ShimManagerProtocol.Unrouted(r.ContainerId));
        });
        Receive<ShimManagerProtocol.GetExitStats>(get => _services.Exits.Forward(get));
        Receive<ShimManagerProtocol.Offer>(offer =>
        {
            _events!.Offer(offer.Event);
            Sender.Tell(new ShimManagerProtocol.Offered());
        });
        Receive<ShimManagerProtocol.ListTasks>(list => Sender.Tell(Identifiers.Check(list.Namespace, "namespace") is { } invalid
            ? TaskProtocol.Failed.From("", invalid)
            : new ShimManagerProtocol.TaskList(_state.LiveIn(list.Namespace))));
        Receive<ShimManagerProtocol.AwaitLoaded>(_ =>
        {
            _loadWaiters.Add(Sender);
            ReplyLoadedIfDone();
        });
        Receive<ShimManagerProtocol.Lost>(lost =>
        {
            (_state, var died) = _state.ShimStopped(Sender);
            Sender.Tell(new ShimManagerProtocol.Unrouted(lost.ContainerId));
            if (died is not null) CleanUpAfter(died);
        });
        Receive<Terminated>(t =>
        {
            (_state, var died) = _state.ShimStopped(t.ActorRef);
            if (died is not null) CleanUpAfter(died);
        });
        Receive<CleanupDone>(done => Context.System.EventStream.Publish(new ShimManagerProtocol.DeadShimCleaned(
            done.Outcome.Container.Id, done.Outcome.Published is not null,
            done.Outcome.Published?.ExitStatus ?? DeadShimCleanup.UnknownExitStatus, done.Outcome.Container.Namespace)));
        Receive<CleanupFailed>(f => _log.Error(f.Cause, "dead-shim cleanup of {0} failed", f.Container));
    }

    private void CleanUpAfter(ShimManagerState.Died died)
    {
        if (died.WasLoading) _cleanedUp++;
        var container = died.Container;
        _log.Warning("shim actor of {0} ended without releasing its bundle: cleaning up after the dead shim", container);
        DeadShimCleanup.RunAsync(_settings, _services, container)
            .PipeTo(Self, success: o => new CleanupDone(o), failure: e => new CleanupFailed(container, e));
        ReplyLoadedIfDone();
    }

    /// <summary>Shim actors stop on their own when their shim dies; never restart one with stale connection state.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    /// <summary>
    /// A restart loses every shim actor and every reply in flight, so it must never happen; if it does, say so on the
    /// event stream (<see cref="ShimManagerProtocol.Restarting"/>) as well as in the log.
    /// </summary>
    protected override void PreRestart(Exception reason, object message)
    {
        Context.System.EventStream.Publish(new ShimManagerProtocol.Restarting(reason.GetType().Name, reason.Message));
        base.PreRestart(reason, message);
    }

    protected override void PreStart()
    {
        StartupTrace.Mark("shim manager: pre-start");
        Directory.CreateDirectory(_settings.StateDirectory);
        // Deletes interrupted by a crash after their rename: nothing else will ever remove them.
        foreach (var swept in Bundle.SweepInterruptedDeletes(_settings.StateDirectory))
            _log.Info("removed the half-deleted bundle {0}", swept);
        if (_beforeLoad is null) StartLoading();
        else RunBeforeLoad();
    }

    /// <summary>Our events endpoint, then every bundle's shim reloading, then the process records asked for.</summary>
    private void StartLoading()
    {
        _events = EventsEndpoint.Start(_settings.EventsSocketPath, _services.EventBus, _services.Exits, _backoff, _services.ShimLog);
        // Every shim whose bundle is on disk, in every namespace, reloads in parallel, each under its own load timeout.
        foreach (var bundle in Bundle.List(_settings.StateDirectory))
            StartShim(new(bundle.Namespace, bundle.Id), new ShimActor.Reload());
        if (!_state.Loading.IsEmpty) _log.Info("reloading {0} shims", _state.Loading.Count);
        _services.Processes.Ask<ProcessStoreProtocol.All>(new ProcessStoreProtocol.GetAll(), _settings.Runtime.LoadTimeout)
            .PipeTo(Self);
    }

    private IActorRef StartShim(ContainerKey container, ShimActor.Mode mode)
    {
        var shim = Context.ActorOf(ShimActor.Props(_settings, _services, container, mode), ShimActor.ChildName(container, ++_shimRuns));
        Context.Watch(shim);
        _state = mode is ShimActor.Reload ? _state.ShimReloading(container, shim) : _state.ShimStarted(container, shim);
        return shim;
    }

    /// <summary>
    /// Applies the recovered records: reloading shim actors get their container's records (see <see cref="ShimActor.Recovered"/>); a task recorded whose
    /// bundle is gone is owed its exit (recorded, or 255) and delete, and each of its started execs its exit; they are
    /// settled now (<see cref="DeadShimCleanup.SettleAsync"/>): a record is forgotten only once the bus has acknowledged
    /// writing what it owed; what the bus never confirms stays, and the next start settles it again.
    /// </summary>
    private void SettleRecords(IReadOnlyList<ProcessRecord> recorded)
    {
        // Every shim actor now is a reloading one (Creates wait in the stash): each gets its container's records.
        static ContainerKey KeyOf(ProcessRecord r) => new(r.Namespace, r.ContainerId);
        foreach (var (container, shim) in _state.Shims)
        {
            shim.Tell(new ShimActor.Recovered(recorded.FirstOrDefault(t => KeyOf(t) == container && t.ExecId.Length == 0),
                recorded.Where(t => KeyOf(t) == container && t.ExecId.Length > 0).ToList()));
        }
        // Every bundle found at start has a shim actor (their deaths wait in the stash until now), so no second listing.
        var lost = recorded.Where(t => t.ExecId.Length == 0 && _state.ShimOf(KeyOf(t)) is null).ToList();
        var settled = lost.Select(async task =>
        {
            var witness = ExitWitness.Unsure(ExitWitness.Source.Settled, task, task.Pid, DeadShimCleanup.UnknownExitStatus,
                DateTimeOffset.UtcNow);
            _settings.FailPoints.Hit(FailPoint.SettleBeforeExitsWritten);
            var written = await DeadShimCleanup.SettleAsync(_services, ExitWitness.Source.Settled, task,
                recorded.Where(e => KeyOf(e) == KeyOf(task) && e.ExecId.Length > 0), witness, _settings.Runtime.CleanupTimeout)
                .ConfigureAwait(false);
            _settings.FailPoints.Hit(FailPoint.SettleAfterExitsWritten);
            return written;
        }).ToList();
        _cleanedUp += lost.Count;
        Task.WhenAll(settled.Append(EventBusRecoveredAsync())).PipeTo(Self, success: _ => new RecordsSettled());
    }

    /// <summary>
    /// Loaded also means the bus can take events. It answers only once it has recovered (a persistent actor holds
    /// commands until then), and its supervisor answers Unavailable while it is down, as when its recovery fails on a
    /// journal this version cannot read: until it answers, the reason is logged and the question asked again, so
    /// AwaitLoaded does not report a runtime whose every delete would fail.
    /// </summary>
    private async Task<bool> EventBusRecoveredAsync()
    {
        try
        {
            // Asked again every Min, not doubling: the bus's own supervisor already backs off its restarts.
            await (_backoff with { Max = _backoff.Min }).AskUntilAnsweredAsync<EventBusProtocol.EventBusStats>(_services.EventBus,
                EventBusProtocol.GetStats.Instance, _settings.Runtime.LoadTimeout, _stopping.Token,
                e => _log.Warning("the event bus has not recovered yet ({0}); loading waits for it", e.Message)).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// Until the settled records' events are written (or the cleanup timeout passed), commands wait: a Create of a settled
    /// id is not taken for the old task.
    /// </summary>
    private void Settling()
    {
        Receive<RecordsSettled>(_ =>
        {
            StartupTrace.Mark("shim manager: records settled");
            Become(Ready);
            Stash.UnstashAll();
        });
        ReceiveAny(_ => Stash.Stash());
    }

    private void ReplyLoadedIfDone()
    {
        if (!_state.Loading.IsEmpty || _loadWaiters.Count == 0) return;
        var loaded = new ShimManagerProtocol.Loaded(_reloaded, _cleanedUp);
        foreach (var waiter in _loadWaiters) waiter.Tell(loaded);
        _loadWaiters.Clear();
    }

    protected override void PostStop()
    {
        _stopping.Cancel();
        _events?.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(1));
        base.PostStop();
    }
}
