using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Akka.Event;

namespace ActorRuntime.Shims;

/// <summary>
/// Supervises one shim actor per container: launches them for Create, reloads the shims it finds on disk at start
/// (each under its own load timeout, all in parallel), routes commands by container id, and runs dead-shim cleanup
/// when a shim actor stops while its task is still registered.
/// </summary>
public sealed class ShimManager : ReceiveActor, IWithUnboundedStash
{
    private readonly ShimContext _context;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<IActorRef> _loadWaiters = [];
    private ShimManagerState _state = ShimManagerState.Empty;
    private EventsEndpoint? _events;
    private int _reloaded, _cleanedUp;

    private sealed record CleanupDone(DeadShimCleanup.Outcome Outcome);

    public IStash Stash { get; set; } = null!;

    private sealed record CleanupFailed(string ContainerId, Exception Cause);

    public ShimManager(ShimContext context)
    {
        _context = context;
        // The shims found on disk are already reloading (PreStart); meanwhile the durable task records recover. They
        // say which exits are owed where a bundle is gone, and which execs to re-attach.
        Receive<ProcessStoreProtocol.All>(all =>
        {
            SettleRecords(all.Tasks);
            Become(Ready);
            Stash.UnstashAll();
        });
        Receive<Status.Failure>(f => throw new InvalidOperationException("task registry did not answer", f.Cause));
        ReceiveAny(_ => Stash.Stash());
    }

    private void Ready()
    {
        Receive<TaskProtocol.Create>(create =>
        {
            if (Identifiers.Check(create.ContainerId, "container id") is { } invalid)
            {
                Sender.Tell(ShimCalls.Failure(create.ContainerId, invalid));
                return;
            }
            if (_state.IsTaken(create.ContainerId))
            {
                Sender.Tell(new TaskProtocol.Failed(create.ContainerId, TtrpcCode.AlreadyExists,
                    $"task {create.ContainerId}: already exists"));
                return;
            }
            var shim = Context.ActorOf(ShimActor.Props(_context, create.ContainerId, new ShimActor.Launch(create, Sender)),
                create.ContainerId);
            Context.Watch(shim);
            _state = _state.ShimStarted(create.ContainerId, shim);
        });
        Receive<IWithContainerId>(command =>
        {
            if (_state.Shims.TryGetValue(command.ContainerId, out var shim))
                shim.Forward(command);
            else
                Sender.Tell(new TaskProtocol.Failed(command.ContainerId, TtrpcCode.NotFound,
                    $"task {command.ContainerId}: not found"));
        });
        Receive<ShimManagerProtocol.Registered>(r =>
        {
            if (_state.Loading.Contains(r.ContainerId)) _reloaded++;
            _state = _state.TaskRegistered(r.ContainerId);
            ReplyLoadedIfDone();
        });
        Receive<ShimManagerProtocol.Unregistered>(u => _state = _state.TaskUnregistered(u.ContainerId));
        Receive<ShimManagerProtocol.ListTasks>(_ =>
            Sender.Tell(new ShimManagerProtocol.TaskList(_state.Registered.OrderBy(id => id, StringComparer.Ordinal).ToList())));
        Receive<ShimManagerProtocol.AwaitLoaded>(_ =>
        {
            _loadWaiters.Add(Sender);
            ReplyLoadedIfDone();
        });
        Receive<Terminated>(t =>
        {
            var id = _state.IdOf(t.ActorRef);
            if (id is null) return;
            var wasLoading = _state.Loading.Contains(id);
            (_state, var registered) = _state.ShimStopped(id);
            if (!registered) return;
            if (wasLoading) _cleanedUp++;
            _log.Warning("shim of {0} is gone while its task was registered: cleaning up after the dead shim", id);
            DeadShimCleanup.RunAsync(_context, id, taskRegistered: true)
                .PipeTo(Self, success: o => new CleanupDone(o), failure: e => new CleanupFailed(id, e));
            ReplyLoadedIfDone();
        });
        Receive<CleanupDone>(done =>
        {
            _state = _state.CleanupDone(done.Outcome.ContainerId);
            _context.ProcessStore.Tell(new ProcessStoreProtocol.Forget(_context.Settings.Namespace, done.Outcome.ContainerId));
            Context.System.EventStream.Publish(new ShimManagerProtocol.DeadShimCleaned(
                done.Outcome.ContainerId, done.Outcome.Published, done.Outcome.ExitStatus));
        });
        Receive<CleanupFailed>(f =>
        {
            _state = _state.CleanupDone(f.ContainerId);
            _log.Error(f.Cause, "dead-shim cleanup of {0} failed", f.ContainerId);
        });
    }

    public static Props Props(ShimContext context) => Akka.Actor.Props.Create(() => new ShimManager(context));

    /// <summary>Shim actors stop on their own when their shim dies; never restart one with stale connection state.</summary>
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(_ => Directive.Stop);

    protected override void PreStart()
    {
        var settings = _context.Settings;
        Directory.CreateDirectory(settings.StateDirectory);
        _events = EventsEndpoint.Start(ShimContext.EventsSocketPath(settings), _context.EventBus, _context.ShimLogger);
        ReloadShims();
        _context.ProcessStore.Ask<ProcessStoreProtocol.All>(new ProcessStoreProtocol.GetAll(), settings.LoadTimeout)
                .PipeTo(Self);
    }

    /// <summary>Reloads every shim whose bundle is on disk, all in parallel, each shim actor under its own load timeout.</summary>
    private void ReloadShims()
    {
        var settings = _context.Settings;
        foreach (var bundle in Bundle.List(settings.StateDirectory).Where(b => b.Namespace == settings.Namespace))
        {
            var shim = Context.ActorOf(ShimActor.Props(_context, bundle.Id, new ShimActor.Reload()), bundle.Id);
            Context.Watch(shim);
            _state = _state.ShimReloading(bundle.Id, shim);
        }
        if (!_state.Loading.IsEmpty) _log.Info("reloading {0} shims", _state.Loading.Count);
    }

    /// <summary>
    /// Applies the recovered task records: reloading tasks get their recorded execs to re-attach; tasks recorded as
    /// alive whose bundle is gone are settled, their exit owed with the recorded status if the exit was seen, else 255.
    /// </summary>
    private void SettleRecords(IReadOnlyList<ProcessRecord> recorded)
    {
        var settings = _context.Settings;
        foreach (var execs in recorded.Where(t => t.ExecId.Length > 0).GroupBy(t => t.ContainerId))
            if (_state.Shims.TryGetValue(execs.Key, out var shim))
                shim.Tell(new ShimActor.ReattachExecs(execs.ToList()));
        // Every bundle found at start has a shim actor (cleanups wait in the stash until now), so no second listing.
        foreach (var lost in recorded.Where(t => t.Namespace == settings.Namespace && t.ExecId.Length == 0 && !_state.Shims.ContainsKey(t.ContainerId)))
        {
            var status = lost.HasExited ? lost.ExitStatus : DeadShimCleanup.UnknownExitStatus;
            DeadShimCleanup.PublishExitAndDelete(_context.EventBus, lost.Namespace, lost.ContainerId, lost.Pid, status,
                lost.ExitedAt ?? DateTimeOffset.UtcNow);
            _context.ProcessStore.Tell(new ProcessStoreProtocol.Forget(lost.Namespace, lost.ContainerId));
            _cleanedUp++;
        }
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
        _events?.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(1));
        base.PostStop();
    }
}
