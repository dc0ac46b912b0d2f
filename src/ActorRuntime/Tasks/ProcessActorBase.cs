using ActorRuntime.Diagnostics;
using ActorRuntime.Events;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using Akka.Actor;

namespace ActorRuntime.Tasks;

/// <summary>
/// What task and exec actors share: lifecycle commands run one at a time (others are stashed until the shim
/// answers), queries run alongside, and one background Wait per run turns the process's exit into a reply to every
/// waiter and a witness for <see cref="Exits"/>.
/// </summary>
internal abstract class ProcessActorBase : ReceiveActor, IWithUnboundedStash
{
    private readonly List<IActorRef> _waiters = [];
    private readonly ProcessServices _services;
    private ProcessRecord _record;
    private bool _waiting;

    protected ProcessActorBase(ProcessRecord record, ProcessServices services)
    {
        _record = record;
        _services = services;
    }

    public IStash Stash { get; set; } = null!;

    /// <summary>The process's record; every change is made durable through <see cref="OnRecordChanged"/>.</summary>
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

    protected ShimConnection Shim => _services.Shim;

    /// <summary>The durable <see cref="ProcessStore"/>.</summary>
    protected IActorRef Processes => _services.Processes;

    protected ProcessServices Services => _services;

    protected FailPoints FailPoints => _services.FailPoints;

    protected string ContainerId => Record.ContainerId;

    protected CancellationTokenSource Stopping { get; } = new();

    /// <summary>Every change of the record is made durable, so a restarted runtime knows what is owed.</summary>
    protected void OnRecordChanged(ProcessRecord record) => Processes.Tell(new ProcessStoreProtocol.Record(record));

    /// <summary>Offers the exit the record holds to <see cref="Exits"/>.</summary>
    protected void WitnessExit(ExitWitness.Source from) => OfferExit(ExitWitness.Recorded(from, Record));

    /// <summary>Offers an account of this process's exit to <see cref="Exits"/>, the one way it reaches the bus.</summary>
    protected void OfferExit(ExitWitness witness) => _services.Exits.Tell(new Exits.Exited(witness));

    /// <summary>
    /// Offers a witness (sent with WantAck) to <see cref="Exits"/> and waits until the bus has acknowledged writing what
    /// it entered: false when it did not within <see cref="DurableTimeout"/>. Callable off the actor's thread.
    /// </summary>
    protected async Task<bool> EnterDurablyAsync(object witness) =>
        await Tasks.Exits.TryEnterAsync(_services.Exits, [witness], DurableTimeout).ConfigureAwait(false) is null;

    /// <summary>
    /// The answer to a Delete whose events the bus did not confirm: the shim deleted the process, but the caller must
    /// not take its exit as delivered. The process record stays, so the next start settles what is owed.
    /// </summary>
    protected TaskProtocol.Failed NotDurable(string execId) =>
        new(ContainerId, Protocol.Ttrpc.TtrpcCode.Unavailable,
            $"delete of {ContainerId}{(execId.Length > 0 ? "/" + execId : "")}: the event bus did not confirm its events within " +
            $"{DurableTimeout.TotalSeconds:0}s; they are settled at the next start");

    /// <summary>Result of a lifecycle call: how the record changes, what the caller gets (null: someone else answers), what follows.</summary>
    protected sealed record Outcome(Func<ProcessRecord, ProcessRecord> Apply, object? Reply, Action<IActorRef>? After = null);

    private sealed record LifecycleDone(Outcome Outcome, IActorRef ReplyTo);

    private sealed record Durable(LifecycleDone Done);

    private sealed record WaitCompleted(uint Status, DateTimeOffset ExitedAt);

    private sealed record WaitFailed(Exception Error);

    /// <summary>How long a reply waits for the store's write; past it the reply goes out anyway (logged by the journal).</summary>
    private static readonly TimeSpan DurableTimeout = TimeSpan.FromSeconds(5);

    private void Finish(LifecycleDone done)
    {
        if (done.Outcome.Reply is { } reply) done.ReplyTo.Tell(reply);
        done.Outcome.After?.Invoke(done.ReplyTo);
        UnbecomeStacked();
        Stash.UnstashAll();
    }

    /// <summary>Runs one lifecycle call; until it completes other lifecycle commands wait in the stash.</summary>
    protected void RunLifecycle(Func<Task<Outcome>> call)
    {
        var replyTo = Sender;
        var containerId = ContainerId;
        call().PipeTo(Self,
            success: outcome => new LifecycleDone(outcome, replyTo),
            failure: e => new LifecycleDone(new Outcome(r => r, TaskProtocol.Failed.From(containerId, e)), replyTo));
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
                Finish(done);
                return;
            }
            // The caller hears of a state change only once it is durable: a runtime killed right after the reply
            // still knows, after its restart, every process it told anyone about.
            _record = next;
            Processes.Ask<ProcessStoreProtocol.Recorded>(new ProcessStoreProtocol.Record(next, WantAck: true), DurableTimeout)
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
            WitnessExit(ExitWitness.Source.Waited);
            var reply = Record.ToExited();
            foreach (var waiter in _waiters) waiter.Tell(reply);
            _waiters.Clear();
        });
        Receive<WaitFailed>(f =>
        {
            _waiting = false;
            var reply = TaskProtocol.Failed.From(ContainerId, f.Error);
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
        Shim.WaitAsync(Record.ContainerId, Record.ExecId, Stopping.Token)
            .PipeTo(Self, success: r => new WaitCompleted(r.Status, r.ExitedAt), failure: e => new WaitFailed(e));
    }

    /// <summary>
    /// Publishes a lifecycle event from our side too. The shim forwards its own copy asynchronously; with both sources
    /// each in order, the bus (which keeps the first of each per run) delivers create, start, ... in order even when
    /// the shim's forward is slower than our reply, or lost. (A process's end goes through <see cref="Exits"/>.)
    /// </summary>
    protected void PublishLifecycle(string topic, uint pid) =>
        _services.EventBus.Tell(new EventBusProtocol.Publish(new TaskEvent(Record.Namespace, topic, Record.ContainerId,
            Record.ExecId, pid, 0, null, DateTimeOffset.UtcNow)));

    /// <summary>Queries answered from the shim's State, as the record then stands.</summary>
    protected void AnswerState(string execId)
    {
        var record = Record;
        Shim.StateAsync(ContainerId, execId).PipeTo(Sender,
            success: s => ShimConnection.Observe(record, s).ToState(),
            failure: e => TaskProtocol.Failed.From(ContainerId, e));
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
