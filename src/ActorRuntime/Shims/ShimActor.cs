using ActorRuntime.Containers;
using ActorRuntime.Diagnostics;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Akka.Event;

namespace ActorRuntime.Shims;

/// <summary>
/// One shim process and its connection, for one container. Launches the shim for the first Create it is given (or
/// reconnects to the one found on disk), hosts the task actor and hands it that Create, tears the shim down after the
/// task is deleted or its Create failed (a connection lost in the middle of Create included). When the connection drops
/// unexpectedly, it stops once its task actor has answered what it owes and the manager has stopped routing to it
/// (<see cref="ShimManagerProtocol.Lost"/>), and the manager cleans up after the dead shim. It serves its bundle's
/// lifetime: it creates the bundle first (or found it), and any later Create routed to it finds the bundle taken; before
/// ending the bundle itself it tells the manager <see cref="ShimManagerProtocol.Released"/>.
/// </summary>
internal sealed class ShimActor : ReceiveActor, IWithUnboundedStash
{
    private readonly ShimSettings _settings;
    private readonly ShimServices _services;
    private readonly ContainerKey _container;
    private readonly string _containerId;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private ShimLogPipe? _logPipe;
    private ShimConnection? _connection;
    private IActorRef? _task;
    private string? _address;
    // The launch or reload under way; ours to release if we stop before its Connected arrives.
    private Task<Connected>? _launching;

    public IStash Stash { get; set; } = null!;

    /// <summary>How the actor begins: launch a new shim for the Create it is sent, or reconnect to one found on disk.</summary>
    public abstract record Mode;

    public sealed record Launch : Mode;

    /// <summary>Reconnect to the shim found on disk; its durable records follow in <see cref="Recovered"/>.</summary>
    public sealed record Reload : Mode;

    /// <summary>
    /// The durable records of a reloading container (none when its task was never recorded), sent to every reloading
    /// shim actor once the process store has recovered. The task actor starts only with them: the shim's view says how
    /// the processes stand, the records what only our side knows (whether an exit is already on the bus).
    /// </summary>
    public sealed record Recovered(ProcessRecord? Task, IReadOnlyList<ProcessRecord> Execs);

    /// <summary>The recorded execs of a reloaded task, each to re-attach to the shim's view of it.</summary>
    public sealed record ReattachExecs(IReadOnlyList<ProcessRecord> Execs);

    private sealed record Connected(ShimConnection Connection, ShimLogPipe LogPipe, ProcessRecord Record, string Address);

    private sealed record StartFailed(Exception Error);

    /// <summary>The shim's connection is gone; told on to the task actor, which stops once its call under way is answered.</summary>
    public sealed record ConnectionLost(Exception? Error);

    private sealed record TornDown(object Reply, IActorRef ReplyTo);

    public ShimActor(ShimSettings settings, ShimServices services, ContainerKey container, Mode mode)
    {
        _settings = settings;
        _services = services;
        _container = container;
        _containerId = container.Id;
        if (mode is Launch) AwaitingCreate();
        else Starting(ReloadAsync(), null, null);
    }

    public static Props Props(ShimSettings settings, ShimServices services, ContainerKey container, Mode mode) =>
        Akka.Actor.Props.Create(() => new ShimActor(settings, services, container, mode));

    /// <summary>
    /// Unique per run: an id can be created again while the previous run's actor is still stopping. Both names are
    /// identifiers (letters, digits, <c>._-</c>), so they are kept apart by a character neither may hold.
    /// </summary>
    public static string ChildName(ContainerKey container, long run) => $"shim-{container.Namespace}~{container.Id}-{run}";

    private void AwaitingCreate() =>
        Receive<TaskProtocol.Create>(create =>
        {
            Bundle bundle;
            try
            {
                // The bundle directory's mkdir is what decides whether the id is taken (see Bundle.Create).
                bundle = Bundle.Create(_settings.StateDirectory, _container.Namespace, _containerId, create.SpecJson);
            }
            catch (Exception e)
            {
                // Nothing to clean up: Bundle.Create leaves nothing behind, and a taken bundle is not ours.
                TearDown(() => Task.CompletedTask, e is AlreadyExistsException
                    ? TaskProtocol.Failed.AlreadyExists(_containerId)
                    : TaskProtocol.Failed.From(_containerId, e), Sender);
                return;
            }
            _settings.FailPoints.Hit(FailPoint.CreateAfterBundleWritten);
            var requester = Sender;
            Become(() => Starting(LaunchAsync(bundle, create), create, requester));
        });

    private void Starting(Task<Connected> start, TaskProtocol.Create? create, IActorRef? requester)
    {
        _launching = start;
        start.PipeTo(Self, failure: e => new StartFailed(e));
        Connected? connected = null;
        // A launch has no records yet; a reload waits for them.
        Recovered? recovered = create is null ? null : new Recovered(null, []);
        void StartTask()
        {
            if (connected is not { } c || recovered is not { } r) return;
            (_connection, _logPipe, _address) = (c.Connection, c.LogPipe, c.Address);
            _services.Groups.Join(c.Address);
            var services = new ProcessServices(c.Connection, _services.EventBus, _services.Exits, _services.Processes)
            {
                FailPoints = _settings.FailPoints,
            };
            _task = Context.ActorOf(TaskActor.Props(c.Record.Reloaded(r.Task), services, _settings.RuncOptions, _services.Manager,
                reloaded: create is null), "task");
            Context.Watch(_task);
            c.Connection.Closed.PipeTo(Self, success: e => new ConnectionLost(e));
            // The task actor answers the caller itself.
            if (create is not null) _task.Tell(create, requester);
            if (r.Execs.Count > 0) _task.Tell(new ReattachExecs(r.Execs));
            Become(Running);
            Stash.UnstashAll();
        }
        Receive<Connected>(c =>
        {
            _launching = null;
            connected = c;
            StartTask();
        });
        Receive<Recovered>(r =>
        {
            recovered = r;
            StartTask();
        });
        Receive<StartFailed>(f =>
        {
            _launching = null;
            _log.Warning("shim for {0} failed to {1}: {2}", _containerId, create is null ? "load" : "start", f.Error.Message);
            // A shim that cannot be reloaded is dead: the manager cleans up after it. What waited for the reload is
            // answered, never dropped (a Wait has no deadline).
            if (create is null)
            {
                AnswerStashed(new TaskProtocol.Failed(_containerId, TtrpcCode.Unavailable,
                    $"task {_containerId}: its shim could not be reloaded: {f.Error.Message}"));
                Context.Stop(Self);
            }
            // Nothing of a failed start may stay: the shim (if it got that far), its socket and the bundle.
            else TearDown(() => DeadShimCleanup.RunAsync(_settings, _services, _container),
                TaskProtocol.Failed.From(_containerId, f.Error), requester!);
        });
        Receive<TaskProtocol.Create>(_ => Sender.Tell(TaskProtocol.Failed.AlreadyExists(_containerId)));
        ReceiveAny(_ => Stash.Stash());
    }

    private void Running()
    {
        Receive<TaskActor.CreateFailed>(f => TearDown(ShutDownAsync, f.Failure, f.ReplyTo));
        Receive<TaskActor.TaskDeleted>(d => TearDown(() => DeletedAsync(d.Forget), d.Result, d.ReplyTo));
        Receive<ConnectionLost>(lost =>
        {
            _log.Warning("shim connection for {0} lost: {1}", _containerId, lost.Error?.Message ?? "closed");
            // Not stopped here: the task actor first answers the call under way (a Create it saw fail comes back as
            // CreateFailed, torn down as below); its stop then ends this actor and the manager cleans up after the shim.
            _task!.Tell(lost);
            Become(Lost);
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_task), _ =>
        {
            // The task actor failed (and was stopped, see SupervisorStrategy): nothing answers for the task any more, so
            // this shim actor goes too and the manager treats the container as one whose shim died.
            _log.Error("task actor of {0} stopped: stopping its shim actor", _containerId);
            Context.Stop(Self);
        });
        Receive<TaskProtocol.Create>(_ => Sender.Tell(TaskProtocol.Failed.AlreadyExists(_containerId)));
        Receive<IWithContainerId>(command => _task!.Forward(command));
    }

    /// <summary>The connection is gone; the task actor answers what it owes and stops, then so does this actor.</summary>
    private void Lost()
    {
        Receive<TaskActor.CreateFailed>(f => TearDown(ShutDownAsync, f.Failure, f.ReplyTo));
        Receive<TaskActor.TaskDeleted>(d => TearDown(() => DeletedAsync(d.Forget), d.Result, d.ReplyTo));
        Receive<Terminated>(t => t.ActorRef.Equals(_task), _ =>
        {
            // Routing ends before this actor does, so nothing is forwarded to it once stopped (a caller left waiting);
            // the manager then cleans up after the shim, with the connection and log reader already let go.
            ReleaseConnection();
            Context.Parent.Tell(new ShimManagerProtocol.Lost(_container.Namespace, _containerId));
        });
        Receive<ShimManagerProtocol.Unrouted>(_ => Context.Stop(Self));
        Receive<ReattachExecs>(_ => { });
        Receive<TaskProtocol.Create>(_ => Sender.Tell(TaskProtocol.Failed.AlreadyExists(_containerId)));
        Receive<IWithContainerId>(_ => Sender.Tell(TaskProtocol.Failed.ConnectionLost(_containerId)));
    }

    /// <summary>
    /// Ends the bundle ourselves: released first (the close that follows is no death), answered when the teardown is
    /// done, stopped once the manager also routes nothing more here.
    /// </summary>
    private void TearDown(Func<Task> teardown, object reply, IActorRef replyTo)
    {
        Context.Parent.Tell(new ShimManagerProtocol.Released(_container.Namespace, _containerId));
        teardown().PipeTo(Self, success: () => new TornDown(reply, replyTo), failure: _ => new TornDown(reply, replyTo));
        var waitingFor = 2;
        void Done()
        {
            if (--waitingFor == 0) Context.Stop(Self);
        }
        Become(() =>
        {
            Receive<TornDown>(done =>
            {
                done.ReplyTo.Tell(done.Reply);
                Done();
            });
            Receive<ShimManagerProtocol.Unrouted>(_ => Done());
            Receive<ConnectionLost>(_ => { });
            Receive<Terminated>(_ => { });
            // Until the teardown is done the bundle is still there.
            Receive<TaskProtocol.Create>(_ => Sender.Tell(TaskProtocol.Failed.AlreadyExists(_containerId)));
            Receive<IWithContainerId>(_ => Sender.Tell(TaskProtocol.Failed.NotFound(_containerId)));
        });
        // Commands that waited for a start that failed get this behaviour's answer, not dead letters.
        Stash.UnstashAll();
    }

    private void AnswerStashed(TaskProtocol.Failed failure)
    {
        foreach (var envelope in Stash.ClearStash()) envelope.Sender.Tell(failure);
    }

    private async Task<Connected> LaunchAsync(Bundle bundle, TaskProtocol.Create create)
    {
        var logPipe = ShimLogPipe.Open(bundle, _services.ShimLog);
        try
        {
            using var timeout = new CancellationTokenSource(_settings.Runtime.LoadTimeout);
            var address = await _services.Launcher.StartAsync(bundle, timeout.Token).ConfigureAwait(false);
            _settings.FailPoints.Hit(FailPoint.CreateAfterShimStarted);
            var connection = await ShimConnection.OpenAsync(address, _containerId, _settings.Runtime).ConfigureAwait(false);
            var record = new ProcessRecord(_container.Namespace, _containerId, "", bundle.Path, create.Stdio);
            return new Connected(connection, logPipe, record, address);
        }
        catch
        {
            logPipe.Dispose();
            throw;
        }
    }

    private async Task<Connected> ReloadAsync()
    {
        var bundle = Bundle.Load(_settings.StateDirectory, _container.Namespace, _containerId);
        var logPipe = ShimLogPipe.Open(bundle, _services.ShimLog);
        try
        {
            var address = bundle.ReadAddress() ?? throw new NotFoundException($"{bundle.AddressPath}: not found");
            _settings.FailPoints.Hit(FailPoint.ReloadBeforeShimCall);
            var connection = await ShimConnection.OpenAsync(address, _containerId, _settings.Runtime).ConfigureAwait(false);
            try
            {
                var state = await connection.StateAsync(_containerId, "", _settings.Runtime.LoadTimeout).ConfigureAwait(false);
                _settings.FailPoints.Hit(FailPoint.ReloadAfterShimCall);
                var record = ShimConnection.Observe(new ProcessRecord(_container.Namespace, _containerId, "", bundle.Path,
                    new Stdio(state.Stdin, state.Stdout, state.Stderr, state.Terminal)), state);
                return new Connected(connection, logPipe, record, address);
            }
            catch (NotFoundException)
            {
                // Alive, but without the task (deleted, or never created, before a crash): not a shim to reload. It would
                // outlive the cleanup, which only runs the binary's delete, so it is shut down first, as containerd does (#6860).
                await DeadShimCleanup.ShutDownLiveShimAsync(connection, _containerId, _services.ShimLog).ConfigureAwait(false);
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            catch
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        catch
        {
            logPipe.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The teardown of a deleted task: its record forgotten (when its events are written) while the shim shuts down, so
    /// the caller hears of the delete only once nothing of it is owed or left. A record the store does not forget in time
    /// stays: the next start settles it, and the bus, which keeps the run until then, drops what it offers again.
    /// </summary>
    private Task DeletedAsync(bool forget)
    {
        var shutdown = ShutDownAsync();
        return forget ? Task.WhenAll(ForgetRecordAsync(), shutdown) : shutdown;
    }

    private async Task ForgetRecordAsync()
    {
        try
        {
            await _services.Processes.Ask<ProcessStoreProtocol.Forgotten>(
                new ProcessStoreProtocol.Forget(_container.Namespace, _containerId, WantAck: true), _settings.Runtime.CleanupTimeout)
                .ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _log.Warning("{0}: the process store did not forget the deleted task's record ({1}); the next start settles it",
                _containerId, e.Message);
        }
    }

    /// <summary>
    /// Shuts the shim down unless others of its group still use it (then only our connection goes), removes the bundle;
    /// a shim that will not shut down is cleaned up after like a dead one.
    /// </summary>
    private Task ShutDownAsync()
    {
        // The teardown owns the connection and log reader from here; in a group the reader passes to the group.
        var (connection, address, logPipe) = (_connection!, _address!, _logPipe);
        (_connection, _address, _logPipe) = (null, null, null);
        var departure = _services.Groups.Leave(address, logPipe);
        return ShutDownOrCleanUpAsync(connection, departure);
    }

    /// <summary>Shutdown goes first; the log readers close after it (the shim logs while it shuts down).</summary>
    private async Task ShutDownOrCleanUpAsync(ShimConnection connection, ShimGroups.Departure departure)
    {
        using var closeLogsAfterwards = departure;
        var othersRemain = departure.OthersRemain;
        if (!othersRemain && connection.Closed.IsCompleted)
        {
            // Lost before we asked (e.g. in the middle of its Create): nothing says the shim exited or removed what it
            // created, so it goes through the one cleanup (its binary's delete kills what is left).
            _log.Warning("shim of {0} lost its connection before shutdown; cleaning up after it", _containerId);
            await connection.DisposeAsync().ConfigureAwait(false);
            await DeadShimCleanup.RunAsync(_settings, _services, _container).ConfigureAwait(false);
            return;
        }
        try
        {
            if (othersRemain) _log.Info("shim of {0} still hosts other containers: not shutting it down", _containerId);
            else
            {
                _settings.FailPoints.Hit(FailPoint.DeleteBeforeShimShutdown);
                await connection.ShutDownShimAsync(_containerId).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is TtrpcException or TimeoutException)
        {
            _log.Warning("shutdown of shim {0}: {1}; cleaning up after it", _containerId, e.Message);
            await connection.DisposeAsync().ConfigureAwait(false);
            await DeadShimCleanup.RunAsync(_settings, _services, _container).ConfigureAwait(false);
            return;
        }
        await connection.DisposeAsync().ConfigureAwait(false);
        _settings.FailPoints.Hit(FailPoint.DeleteAfterShimShutdown);
        Bundle.TryLoad(_settings.StateDirectory, _container.Namespace, _containerId)?.Delete();
    }

    /// <summary>A task actor that throws is stopped, never restarted over state it may have half-changed.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    protected override void PostStop()
    {
        ReleaseConnection();
        // Stopped mid-launch: the connection and log reader the launch still gets go to dead letters with Connected.
        if (_launching is { } launching) _ = ReleaseLateAsync(launching);
        base.PostStop();
    }

    /// <summary>Only the connection is ours to drop; a live shim keeps its containers running (reloaded on restart).</summary>
    private void ReleaseConnection()
    {
        _connection?.DisposeAsync().AsTask().ContinueWith(_ => { }, TaskScheduler.Default);
        if (_address is not null) _services.Groups.Leave(_address, _logPipe).Dispose();
        else _logPipe?.Dispose();
        (_connection, _address, _logPipe) = (null, null, null);
    }

    private static async Task ReleaseLateAsync(Task<Connected> launching)
    {
        Connected late;
        try
        {
            late = await launching.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A failed launch or reload released what it had opened itself.
            return;
        }
        late.LogPipe.Dispose();
        await late.Connection.DisposeAsync().ConfigureAwait(false);
    }
}
