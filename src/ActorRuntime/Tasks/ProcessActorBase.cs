using ActorRuntime.Protocol.Ttrpc;
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
    private readonly PersistenceBackoff _retry = PersistenceBackoff.Create(Context.System.Settings.Config);
    private ProcessRecord _record;
    private Task _lifecycleEvents = Task.CompletedTask; // this process's own lifecycle events, in order, until acknowledged
    private bool _waiting;
    // The caller of the lifecycle call under way; and whether the shim's connection is gone (stop once it is answered).
    private IActorRef? _inFlight;
    private bool _connectionLost;

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

    /// <summary>
    /// Every change of the record is made durable, so a restarted runtime knows what is owed: written again with a
    /// back-off while the store does not confirm it (its journal failing), until it is or a newer record replaces it.
    /// </summary>
    protected void OnRecordChanged(ProcessRecord record) => WriteRecord(record, _retry.Min);

    private void WriteRecord(ProcessRecord record, TimeSpan retryAfter) =>
        Processes.Ask<ProcessStoreProtocol.Recorded>(new ProcessStoreProtocol.Record(record, WantAck: true), DurableTimeout)
            .PipeTo(Self, failure: _ => new RecordFailed(record, retryAfter));

    /// <summary>
    /// Offers the exit the record holds to <see cref="Exits"/> unless the record says the bus has it already, and once
    /// the bus has acknowledged writing it, records that durably (<see cref="ProcessRecord.ExitPublished"/>): a later
    /// restart, however late, does not publish it again.
    /// </summary>
    protected void WitnessExit(ExitWitness.Source from) => WitnessExit(from, recordUnwritten: false);

    /// <param name="recordUnwritten">The record's exit is not in the store yet: it is written with the bus's answer.</param>
    private void WitnessExit(ExitWitness.Source from, bool recordUnwritten)
    {
        if (Record.ExitPublished) return;
        var exited = Record;
        EnterDurablyAsync(new Exits.Exited(ExitWitness.Recorded(from, exited), WantAck: true))
            .PipeTo(Self, success: durable => new ExitEntered(exited, durable, recordUnwritten));
    }

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

    /// <summary>The store answered the record write of a lifecycle call (<paramref name="Stored"/>) or did not in time.</summary>
    private sealed record Durable(LifecycleDone Done, bool Stored);

    /// <summary>A record write failed: try again after <paramref name="Delay"/>, unless the record has changed since.</summary>
    private sealed record RecordFailed(ProcessRecord Record, TimeSpan Delay);

    private sealed record RecordAgain(ProcessRecord Record, TimeSpan Delay);

    private sealed record WaitCompleted(uint Status, DateTimeOffset ExitedAt);

    private sealed record WaitFailed(Exception Error);

    private sealed record ExitEntered(ProcessRecord Exited, bool Durable, bool RecordUnwritten);

    /// <summary>How long a reply waits for the store's write; past it the caller is told the change is not durable.</summary>
    private static readonly TimeSpan DurableTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The answer to a lifecycle call whose new record the store did not confirm (its journal failing): the call took
    /// effect at the shim, but a runtime restarted now would not know it, so it is not reported as done. The record is
    /// written again until the store takes it.
    /// </summary>
    private TaskProtocol.Failed NotRecorded() =>
        new(ContainerId, Protocol.Ttrpc.TtrpcCode.Unavailable,
            $"{ContainerId}{(Record.ExecId.Length > 0 ? "/" + Record.ExecId : "")}: the process store did not confirm the new " +
            $"state within {DurableTimeout.TotalSeconds:0}s; it is written again until the store is back");

    private void Finish(LifecycleDone done)
    {
        if (done.Outcome.Reply is { } reply) done.ReplyTo.Tell(reply);
        done.Outcome.After?.Invoke(done.ReplyTo);
        _inFlight = null;
        UnbecomeStacked();
        // Connection gone: the call under way has been answered (it failed at once, or its reply beat the close); what
        // waits in the stash is answered in PostStop.
        if (_connectionLost) Context.Stop(Self);
        else Stash.UnstashAll();
    }

    /// <summary>Runs one lifecycle call; until it completes other lifecycle commands wait in the stash.</summary>
    protected void RunLifecycle(Func<Task<Outcome>> call)
    {
        var replyTo = Sender;
        _inFlight = replyTo;
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
                .PipeTo(Self, success: _ => new Durable(done, Stored: true), failure: _ => new Durable(done, Stored: false));
        });
        Receive<Durable>(d =>
        {
            if (d.Stored)
            {
                Finish(d.Done);
                return;
            }
            Self.Tell(new RecordFailed(_record, _retry.Min));
            Finish(d.Done.Outcome.Reply is null ? d.Done : d.Done with { Outcome = d.Done.Outcome with { Reply = NotRecorded() } });
        });
        Queries();
        Receive<ILifecycleCommand>(_ => Stash.Stash());
    }

    /// <summary>Handlers valid in every behaviour.</summary>
    protected virtual void Queries()
    {
        // From the shim actor: the connection is gone. Stopping now would leave the caller of a call under way without
        // an answer (it fails at once on the closed connection, and a failed Create must still reach the shim actor).
        Receive<ShimActor.ConnectionLost>(_ =>
        {
            _connectionLost = true;
            if (_inFlight is null) Context.Stop(Self);
        });
        // A record the store did not confirm is sent again with a back-off, as long as it is still the latest.
        Receive<RecordFailed>(f =>
        {
            if (f.Record != _record) return;
            var again = new RecordAgain(f.Record, TimeSpan.FromTicks(Math.Min(f.Delay.Ticks * 2, _retry.Max.Ticks)));
            Task.Delay(f.Delay, Stopping.Token).PipeTo(Self, success: () => again);
        });
        Receive<RecordAgain>(r =>
        {
            if (r.Record == _record) WriteRecord(r.Record, r.Delay);
        });
        Receive<ProcessStoreProtocol.Recorded>(_ => { });
        Receive<WaitCompleted>(w =>
        {
            _waiting = false;
            var exited = Record.Exited(w.Status, w.ExitedAt);
            if (exited.ExitPublished) Record = exited;
            else
            {
                // The exit goes to the bus first; the record learns it together with the bus's acknowledgement, in one
                // store write instead of two (ExitEntered). A runtime killed in between finds the exit at the shim, or,
                // if the shim died too, on the bus, which keeps the run until this record is forgotten.
                _record = exited;
                WitnessExit(ExitWitness.Source.Waited, recordUnwritten: true);
            }
            var reply = Record.ToExited();
            foreach (var waiter in _waiters) waiter.Tell(reply);
            _waiters.Clear();
        });
        Receive<ExitEntered>(e => e.Exited.SameRun(_record) && (e.Durable || e.RecordUnwritten), e =>
        {
            if (!e.Durable)
            {
                // The bus did not confirm: the record keeps the exit as owed, for the next start to settle.
                WriteRecord(_record, _retry.Min);
                return;
            }
            _record = _record.PublishedExit(e.Exited);
            if (e.RecordUnwritten) WriteRecord(_record, _retry.Min);
            // The record was written before: the store only marks it (no whole-record write).
            else Processes.Tell(new ProcessStoreProtocol.ExitPublished(e.Exited));
        });
        Receive<ExitEntered>(_ => { });
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
    /// <para>Sent until the bus acknowledges it (a failed journal write loses nothing), one after the other.</para>
    protected void PublishLifecycle(string topic, uint pid) =>
        _lifecycleEvents = AcknowledgedPublish.AfterAsync(_lifecycleEvents, _services.EventBus, new TaskEvent(Record.Namespace,
            topic, Record.ContainerId, Record.ExecId, pid, 0, null, DateTimeOffset.UtcNow), Exits.DefaultAckTimeout, _retry,
            Stopping.Token);

    /// <summary>
    /// Queries answered from the shim's State, as the record then stands. An exited process is answered from the record:
    /// the shim has nothing to add, and under a burst of execs its State (which waits on runc) can take seconds. A State
    /// past its deadline answers the record with status unknown, as containerd's getProcessState does, because clients
    /// decide on the status (ctr deletes an exec, and removes its FIFOs, only when it is not running).
    /// </summary>
    protected void AnswerState(string execId)
    {
        var record = Record;
        if (record.HasExited)
        {
            Sender.Tell(record.ToState());
            return;
        }
        Shim.StateAsync(ContainerId, execId).PipeTo(Sender,
            success: s => ShimConnection.Observe(record, s).ToState(),
            failure: e => e is DeadlineExceededException
                ? (record with { Status = ProcessStatus.Unknown }).ToState()
                : TaskProtocol.Failed.From(ContainerId, e));
    }

    protected override void PostStop()
    {
        Stopping.Cancel();
        // Everyone still owed an answer gets one: waiters, a call under way (stopped by the parent), stashed commands.
        var reply = TaskProtocol.Failed.ConnectionLost(ContainerId);
        foreach (var waiter in _waiters) waiter.Tell(reply);
        _inFlight?.Tell(reply);
        foreach (var envelope in Stash.ClearStash()) envelope.Sender.Tell(reply);
        Stopping.Dispose();
        base.PostStop();
    }
}
