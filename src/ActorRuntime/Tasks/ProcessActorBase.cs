using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using Akka.Actor;

namespace ActorRuntime.Tasks;

/// <summary>
/// What task and exec actors share: lifecycle commands run one at a time (others are stashed until the shim
/// answers), queries run alongside, and one background Wait per run turns the process's exit into a reply to every
/// waiter and an exit event on the bus (the bus keeps it to exactly once with the shim's own forwarded event).
/// </summary>
internal abstract class ProcessActorBase : ReceiveActor, IWithUnboundedStash
{
    private readonly List<IActorRef> _waiters = [];
    private bool _waiting;

    protected ProcessActorBase(ProcessRecord record, ShimCalls calls, IActorRef eventBus, IActorRef registry)
    {
        Registry = registry;
        _record = record;
        Calls = calls;
        EventBus = eventBus;
    }

    public IStash Stash { get; set; } = null!;

    private ProcessRecord _record;

    /// <summary>The process's record; every change is reported through <see cref="OnRecordChanged"/>.</summary>
    protected ProcessRecord Record
    {
        get => _record;
        set
        {
            if (value == _record) return;
            _record = value;
            OnRecordChanged(value);
        }
    }

    /// <summary>The durable <see cref="ProcessStore"/>.</summary>
    protected IActorRef Registry { get; }

    /// <summary>Every change of the record is made durable, so a restarted runtime knows what is owed.</summary>
    protected void OnRecordChanged(ProcessRecord record) => Registry.Tell(new ProcessStoreProtocol.Record(record));

    /// <summary>
    /// Publishes the exit the record holds: seen by our Wait, or found on reload (real status and time, from the shim).
    /// Whichever copy (ours, the shim's, one from before a restart) reaches the bus first counts; it drops the others.
    /// </summary>
    protected void PublishExit() =>
        EventBus.Tell(new EventBusProtocol.Publish(TaskEvent.Exited(Record.Namespace, Record.ContainerId, Record.ExecId,
            Record.Pid, Record.ExitStatus, Record.ExitedAt ?? DateTimeOffset.UtcNow)));

    protected ShimCalls Calls { get; }

    protected IActorRef EventBus { get; }

    protected string ContainerId => Record.ContainerId;

    protected CancellationTokenSource Stopping { get; } = new();

    /// <summary>Result of a lifecycle call: how the record changes, what the caller gets (null: someone else answers), what follows.</summary>
    protected sealed record Outcome(Func<ProcessRecord, ProcessRecord> Apply, object? Reply, Action<IActorRef>? After = null);

    private sealed record LifecycleDone(Outcome Outcome, IActorRef ReplyTo);

    private sealed record Durable(LifecycleDone Done);

    /// <summary>How long a reply waits for the registry's write; past it the reply goes out anyway (logged by the journal).</summary>
    private static readonly TimeSpan DurableTimeout = TimeSpan.FromSeconds(5);

    private void Finish(LifecycleDone done)
    {
        if (done.Outcome.Reply is { } reply) done.ReplyTo.Tell(reply);
        done.Outcome.After?.Invoke(done.ReplyTo);
        UnbecomeStacked();
        Stash.UnstashAll();
    }

    private sealed record WaitCompleted(uint Status, DateTimeOffset ExitedAt);

    private sealed record WaitFailed(Exception Error);

    /// <summary>Runs one lifecycle call; until it completes other lifecycle commands wait in the stash.</summary>
    protected void RunLifecycle(Func<Task<Outcome>> call)
    {
        var replyTo = Sender;
        var containerId = ContainerId;
        call().PipeTo(Self,
            success: outcome => new LifecycleDone(outcome, replyTo),
            failure: e => new LifecycleDone(new Outcome(r => r, ShimCalls.Failure(containerId, e)), replyTo));
        BecomeStacked(Busy);
    }

    /// <summary>A lifecycle call whose shim reply is Empty.</summary>
    protected void RunEmpty(Func<Task> call, Func<ProcessRecord, ProcessRecord>? apply = null)
    {
        var reply = new TaskProtocol.Done(ContainerId, Record.ExecId);
        RunLifecycle(async () =>
        {
            await call().ConfigureAwait(false);
            return new Outcome(apply ?? (r => r), reply);
        });
    }

    protected abstract void Ready();

    private void Busy()
    {
        Receive<LifecycleDone>(done =>
        {
            var next = done.Outcome.Apply(Record);
            if (next == _record)
            {
                Record = next;
                Finish(done);
                return;
            }
            // The caller hears of a state change only once it is durable: a runtime killed right after the reply
            // still knows, after its restart, every process it told anyone about.
            _record = next;
            Registry.Ask<ProcessStoreProtocol.Recorded>(new ProcessStoreProtocol.Record(next, WantAck: true), DurableTimeout)
                .PipeTo(Self, success: _ => new Durable(done), failure: _ => new Durable(done));
        });
        Receive<Durable>(d => Finish(d.Done));
        Queries();
        Receive<ILifecycleCommand>(_ => Stash.Stash());
    }

    /// <summary>Handlers valid in every behaviour.</summary>
    protected virtual void Queries()
    {
        Receive<WaitCompleted>(w =>
        {
            _waiting = false;
            Record = Record.Exited(w.Status, w.ExitedAt);
            PublishExit();
            var reply = Record.ToExited();
            foreach (var waiter in _waiters) waiter.Tell(reply);
            _waiters.Clear();
        });
        Receive<WaitFailed>(f =>
        {
            _waiting = false;
            var reply = ShimCalls.Failure(ContainerId, f.Error);
            foreach (var waiter in _waiters) waiter.Tell(reply);
            _waiters.Clear();
        });
    }

    /// <summary>Answers at once if the process has exited, else when it does.</summary>
    protected void AddWaiter(IActorRef waiter)
    {
        if (Record.HasExited)
        {
            waiter.Tell(Record.ToExited());
            return;
        }
        _waiters.Add(waiter);
        EnsureWaiting();
    }

    /// <summary>One shim Wait per run, issued once the process exists.</summary>
    protected void EnsureWaiting()
    {
        if (_waiting || Record.HasExited || Record.Pid == 0) return;
        _waiting = true;
        Calls.WaitAsync(Record.ContainerId, Record.ExecId, Stopping.Token)
            .PipeTo(Self, success: r => new WaitCompleted(r.Status, r.ExitedAt), failure: e => new WaitFailed(e));
    }

    /// <summary>
    /// Publishes a lifecycle event from our side too. The shim forwards its own copy asynchronously; with both sources
    /// each in order, the bus (which keeps the first of each per run) delivers create, start, exit, delete in order
    /// even when the shim's forward is slower than our reply, or lost.
    /// </summary>
    protected void PublishLifecycle(string topic, uint pid) =>
        EventBus.Tell(new EventBusProtocol.Publish(new TaskEvent(Record.Namespace, topic, Record.ContainerId, Record.ExecId,
            pid, 0, null, DateTimeOffset.UtcNow)));

    /// <summary>Publishes the exit (if the bus has not seen it from the shim yet, it counts; else it is dropped).</summary>
    protected void PublishExitIfUnseen(uint pid, uint status, DateTimeOffset exitedAt)
    {
        if (Record.HasExited) return;
        Record = Record.Exited(status, exitedAt);
        EventBus.Tell(new EventBusProtocol.Publish(TaskEvent.Exited(
            Record.Namespace, Record.ContainerId, Record.ExecId, pid, status, exitedAt)));
    }

    protected override void PostStop()
    {
        Stopping.Cancel();
        var reply = new TaskProtocol.Failed(ContainerId, Protocol.Ttrpc.TtrpcCode.Unavailable,
            $"task {ContainerId}: shim connection closed");
        foreach (var waiter in _waiters) waiter.Tell(reply);
        Stopping.Dispose();
        base.PostStop();
    }
}
