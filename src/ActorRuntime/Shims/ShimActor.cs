using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Akka.Event;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.Shims;

/// <summary>
/// One shim process and its ttrpc connection. Starts (or reloads) the shim, hosts the task actor, tears the shim
/// down after the task is deleted, and stops itself when the connection drops unexpectedly so the ShimManager
/// can clean up after the dead shim.
/// </summary>
internal sealed class ShimActor : ReceiveActor, IWithUnboundedStash
{
    private readonly ShimContext _context;
    private readonly string _containerId;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private ShimLogPipe? _logPipe;
    private TtrpcClient? _client;
    private IActorRef _task = ActorRefs.Nobody;
    private string? _address;

    public IStash Stash { get; set; } = null!;

    /// <summary>How the actor begins: launch a new shim for Create, or reconnect to one found on disk.</summary>
    public abstract record Mode;

    public sealed record Launch(TaskProtocol.Create Create, IActorRef ReplyTo) : Mode;

    /// <summary>Reconnect to the shim found on disk; its recorded execs follow in <see cref="ReattachExecs"/>.</summary>
    public sealed record Reload : Mode;

    /// <summary>The recorded execs of a reloaded task, sent once the durable task registry has recovered.</summary>
    public sealed record ReattachExecs(IReadOnlyList<ProcessRecord> Execs);

    private sealed record Connected(TtrpcClient Client, ShimLogPipe LogPipe, ProcessRecord Record, string Address);

    private sealed record StartFailed(Exception Error, IActorRef? ReplyTo);

    private sealed record ConnectionLost(Exception? Error);

    private sealed record TornDown(object Reply, IActorRef ReplyTo);

    /// <summary>Launch found the bundle directory already there: someone else's, left alone.</summary>
    private sealed class BundleTakenException(AlreadyExistsException inner) : Exception(inner.Message, inner);

    public ShimActor(ShimContext context, string containerId, Mode mode)
    {
        _context = context;
        _containerId = containerId;
        Starting(mode);
    }

    public static Props Props(ShimContext context, string containerId, Mode mode) =>
        Akka.Actor.Props.Create(() => new ShimActor(context, containerId, mode));

    private void Starting(Mode mode)
    {
        var replyTo = mode is Launch l ? l.ReplyTo : null;
        var start = mode switch
        {
            Launch launch => LaunchAsync(launch.Create),
            _ => ReloadAsync(),
        };
        start.PipeTo(Self, failure: e => new StartFailed(e, replyTo));

        Receive<Connected>(c =>
        {
            _client = c.Client;
            _logPipe = c.LogPipe;
            _address = c.Address;
            _context.Groups.Join(c.Address);
            var calls = new ShimCalls(new ShimTaskClient(c.Client), _context.Settings.CallTimeout, _context.Settings.StateTimeout);
            _task = Context.ActorOf(TaskActor.Props(c.Record, calls, _context.EventBus, _context.RuncOptions, _context.ProcessStore), "task");
            c.Client.Closed.PipeTo(Self, success: e => new ConnectionLost(e));
            if (mode is Launch launch)
                _task.Tell(launch.Create, Self); // the reply comes back here first: a created task is registered
            else
                Context.Parent.Tell(new ShimManagerProtocol.Registered(_containerId));
            Become(Running(replyTo));
            Stash.UnstashAll();
        });
        Receive<StartFailed>(f =>
        {
            _log.Warning("shim for {0} failed to {1}: {2}", _containerId, mode is Launch ? "start" : "load", f.Error.Message);
            if (mode is Reload)
            {
                // A shim that cannot be reloaded is dead: the manager cleans up after it and publishes its exit.
                Context.Stop(Self);
                return;
            }
            if (f.Error is BundleTakenException taken)
            {
                // Not ours: a bundle we did not create must not be cleaned up by us.
                f.ReplyTo?.Tell(ShimCalls.Failure(_containerId, taken.InnerException!));
                Context.Stop(Self);
                return;
            }
            var reply = ShimCalls.Failure(_containerId, f.Error);
            // Nothing of a failed start may stay: the shim (if it got that far), its socket and the bundle.
            CleanupFailedStartAsync().PipeTo(Self, success: () => new TornDown(reply, f.ReplyTo ?? ActorRefs.Nobody),
                failure: _ => new TornDown(reply, f.ReplyTo ?? ActorRefs.Nobody));
            Become(TearingDown);
        });
        ReceiveAny(_ => Stash.Stash());
    }

    private Action Running(IActorRef? createRequester) => () =>
    {
        Receive<TaskProtocol.Created>(created =>
        {
            Context.Parent.Tell(new ShimManagerProtocol.Registered(_containerId));
            createRequester?.Tell(created);
        });
        Receive<TaskProtocol.Failed>(failed =>
        {
            // Create failed: containerd deletes the task, shuts the shim down and removes the bundle.
            TearDownAsync().PipeTo(Self, success: () => new TornDown(failed, createRequester ?? ActorRefs.Nobody),
                failure: _ => new TornDown(failed, createRequester ?? ActorRefs.Nobody));
            Become(TearingDown);
        });
        Receive<TaskActor.TaskDeleted>(deleted =>
        {
            // Unregister before the connection closes, so the manager will not treat the close as a dead shim.
            Context.Parent.Tell(new ShimManagerProtocol.Unregistered(_containerId));
            _context.ProcessStore.Tell(new ProcessStoreProtocol.Forget(_context.Settings.Namespace, _containerId));
            TearDownAsync().PipeTo(Self, success: () => new TornDown(deleted.Result, deleted.ReplyTo),
                failure: _ => new TornDown(deleted.Result, deleted.ReplyTo));
            Become(TearingDown);
        });
        Receive<ConnectionLost>(lost =>
        {
            _log.Warning("shim connection for {0} lost: {1}", _containerId, lost.Error?.Message ?? "closed");
            Context.Stop(Self);
        });
        Receive<ReattachExecs>(r => _task.Forward(r));
        Receive<IWithContainerId>(command => _task.Forward(command));
    };

    private void TearingDown()
    {
        Receive<TornDown>(done =>
        {
            done.ReplyTo.Tell(done.Reply);
            Context.Stop(Self);
        });
        Receive<ConnectionLost>(_ => { });
        Receive<IWithContainerId>(command =>
            Sender.Tell(new TaskProtocol.Failed(_containerId, TtrpcCode.NotFound, $"task {_containerId}: not found")));
    }

    private async Task<Connected> LaunchAsync(TaskProtocol.Create create)
    {
        Bundle bundle;
        try
        {
            bundle = Bundle.Create(_context.Settings.StateDirectory, _context.Settings.Namespace, _containerId, create.SpecJson);
        }
        catch (AlreadyExistsException e)
        {
            throw new BundleTakenException(e);
        }
        var logPipe = ShimLogPipe.Open(bundle, _context.ShimLogger);
        try
        {
            using var timeout = new CancellationTokenSource(_context.Settings.LoadTimeout);
            var address = await _context.Launcher.StartAsync(bundle, timeout.Token).ConfigureAwait(false);
            var client = await ConnectAsync(address).ConfigureAwait(false);
            var record = new ProcessRecord(_context.Settings.Namespace, _containerId, "", bundle.Path, create.Stdio);
            return new Connected(client, logPipe, record, address);
        }
        catch
        {
            logPipe.Dispose();
            throw;
        }
    }

    private async Task<Connected> ReloadAsync()
    {
        var bundle = Bundle.Load(_context.Settings.StateDirectory, _context.Settings.Namespace, _containerId);
        var logPipe = ShimLogPipe.Open(bundle, _context.ShimLogger);
        try
        {
            var address = bundle.ReadAddress() ?? throw new NotFoundException($"{bundle.AddressPath}: not found");
            var client = await ConnectAsync(address).ConfigureAwait(false);
            try
            {
                var state = await new ShimTaskClient(client).StateAsync(new StateRequest { Id = _containerId },
                    new CallOptions(_context.Settings.LoadTimeout)).ConfigureAwait(false);
                var record = ShimCalls.Observe(new ProcessRecord(_context.Settings.Namespace, _containerId, "", bundle.Path,
                    new Stdio(state.Stdin, state.Stdout, state.Stderr, state.Terminal)), state);
                return new Connected(client, logPipe, record, address);
            }
            catch
            {
                await client.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        catch
        {
            logPipe.Dispose();
            throw;
        }
    }

    /// <summary>Dial and verify with Connect under the load timeout, as containerd's loadShim does.</summary>
    private async Task<TtrpcClient> ConnectAsync(string address)
    {
        using var timeout = new CancellationTokenSource(_context.Settings.LoadTimeout);
        var client = await TtrpcClient.ConnectAsync(address, timeout.Token).ConfigureAwait(false);
        try
        {
            await new ShimTaskClient(client).ConnectAsync(new ConnectRequest { Id = _containerId },
                new CallOptions(_context.Settings.LoadTimeout), timeout.Token).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Shutdown (bounded by the shutdown timeout), close, wait for the close, remove the bundle.</summary>
    private async Task TearDownAsync()
    {
        var client = _client;
        // In a group the log reader passes to the group, and only the last member shuts the shim down.
        var othersRemain = _address is not null && _context.Groups.Leave(_address, _logPipe);
        if (_address is not null) _logPipe = null;
        _address = null;
        if (client is not null && othersRemain)
        {
            _log.Info("shim of {0} still hosts other containers: not shutting it down", _containerId);
            await client.DisposeAsync().ConfigureAwait(false);
        }
        else if (client is not null)
        {
            try
            {
                try
                {
                    await new ShimTaskClient(client).ShutdownAsync(new ShutdownRequest { Id = _containerId },
                        new CallOptions(_context.Settings.ShutdownTimeout)).ConfigureAwait(false);
                }
                catch (TtrpcClosedException)
                {
                    // The shim exited before its reply was read: that is what Shutdown asked for (containerd agrees).
                }
                // The shim exits ~20 ms after answering; its closing the socket is the sign it is gone.
                await client.Closed.WaitAsync(_context.Settings.ShutdownTimeout).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TtrpcException or TimeoutException)
            {
                _log.Warning("shutdown of shim {0}: {1}; running shim delete", _containerId, e.Message);
                await CleanupFailedStartAsync().ConfigureAwait(false);
            }
            await client.DisposeAsync().ConfigureAwait(false);
        }
        _logPipe?.Dispose();
        _logPipe = null;
        Bundle.TryLoad(_context.Settings.StateDirectory, _context.Settings.Namespace, _containerId)?.Delete();
    }

    private async Task CleanupFailedStartAsync()
    {
        var bundle = Bundle.TryLoad(_context.Settings.StateDirectory, _context.Settings.Namespace, _containerId);
        if (bundle is null) return;
        try
        {
            await _context.Launcher.DeleteAsync(bundle, _context.Settings.CleanupTimeout,
                CancellationToken.None, _context.ShimLogger).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _log.Warning("shim delete for {0} failed: {1}", _containerId, e.Message);
        }
        bundle.Delete();
    }

    protected override void PostStop()
    {
        // Only the connection is ours to drop; a live shim keeps its containers running (reloaded on restart).
        _client?.DisposeAsync().AsTask().ContinueWith(_ => { }, TaskScheduler.Default);
        if (_address is not null)
            _context.Groups.Leave(_address, _logPipe);
        else
            _logPipe?.Dispose();
        base.PostStop();
    }
}
