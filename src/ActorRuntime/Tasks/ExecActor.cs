using ActorRuntime.Diagnostics;
using ActorRuntime.Events;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using Akka.Actor;

namespace ActorRuntime.Tasks;

/// <summary>
/// One exec'd process. CloseIO that arrives before Start is held until the process exists (the shim only creates
/// an exec's stdin FIFO in Start; closing earlier would be lost, moby#38001).
/// </summary>
internal sealed class ExecActor : ProcessActorBase, IWithTimers
{
    public ITimerScheduler Timers { get; set; } = null!;

    private readonly List<(TaskProtocol.CloseExecIO Command, IActorRef ReplyTo)> _closeBeforeStart = [];

    private readonly bool _reattach;

    private sealed record Reattached(Protocol.Shim.StateResponse State);

    private sealed record ReattachFailed(Exception Error);

    private sealed record Retry;

    private sealed record LostSettled(bool Durable);

    private bool _departed;

    /// <param name="reattach">A recorded exec of a reloaded task: learn its state from the shim before anything else.</param>
    public ExecActor(ProcessRecord record, ProcessServices services, bool reattach)
        : base(record, services)
    {
        _reattach = reattach;
        if (reattach) Reattaching();
        else Ready();
    }

    public static Props Props(ProcessRecord record, ProcessServices services, bool reattach = false) =>
        Akka.Actor.Props.Create(() => new ExecActor(record, services, reattach));

    /// <summary>Unique per run: an exec id can be reused while the previous run's actor is still stopping.</summary>
    public static string ChildName(string execId, long run) => $"exec-{execId}-{run}";

    /// <summary>Told to the parent task actor before the DeleteExec reply, so the id is free for the caller's next command.</summary>
    public sealed record ExecDeleted(string ExecId, IActorRef Exec);

    private string ExecId => Record.ExecId;

    protected override void PreStart()
    {
        if (_reattach) AskState();
        base.PreStart();
    }

    private void AskState() =>
        Shim.StateAsync(ContainerId, ExecId).PipeTo(Self, success: s => new Reattached(s), failure: e => new ReattachFailed(e));

    private void Reattaching()
    {
        Receive<Reattached>(r =>
        {
            Record = ShimConnection.Observe(Record, r.State);
            FailPoints.Hit(FailPoint.ReloadAfterExecReattached);
            if (Record.HasExited) WitnessExit(ExitWitness.Source.Observed);
            else EnsureWaiting();
            Become(Ready);
            Stash.UnstashAll();
        });
        Receive<ReattachFailed>(f => f.Error is not NotFoundException, _ =>
        {
            // A slow or busy shim is not a lost exec: ask again (a dead shim stops the whole task instead).
            Timers.StartSingleTimer("reattach", new Retry(), TimeSpan.FromMilliseconds(200));
        });
        Receive<Retry>(_ => AskState());
        Receive<ReattachFailed>(_ =>
        {
            // The shim no longer knows the exec (it was deleted, or the shim lost it): a started one's exit is owed (its
            // recorded one, else unknown) unless already published. Its record is forgotten once that exit is written;
            // unconfirmed, it stays for the next start.
            var witness = ExitWitness.Unsure(ExitWitness.Source.Lost, Record, 0, DeadShimCleanup.UnknownExitStatus, DateTimeOffset.UtcNow);
            (Record.ExitOwed ? EnterDurablyAsync(new Exits.Exited(witness, WantAck: true)) : Task.FromResult(true))
                .PipeTo(Self, success: durable => new LostSettled(durable));
            Become(() =>
            {
                Receive<LostSettled>(settled =>
                {
                    if (settled.Durable) Processes.Tell(new ProcessStoreProtocol.ForgetExec(Record.Namespace, ContainerId, ExecId));
                    Depart();
                    // What waited for the re-attach is answered, never dropped (a WaitExec has no deadline).
                    var gone = TaskProtocol.Failed.NoSuchProcess(ContainerId, ExecId);
                    foreach (var envelope in Stash.ClearStash()) envelope.Sender.Tell(gone);
                });
                ReceiveAny(_ => Stash.Stash());
            });
        });
        ReceiveAny(_ => Stash.Stash());
    }

    protected override void Ready()
    {
        Queries();
        Receive<TaskProtocol.Exec>(e => RunLifecycle(async () =>
        {
            try
            {
                FailPoints.Hit(FailPoint.ExecBeforeShimCall);
                await Shim.ExecAsync(e).ConfigureAwait(false);
                FailPoints.Hit(FailPoint.ExecAfterShimCall);
            }
            catch (Exception error)
            {
                // The shim added no process: the id is free again (forgotten before the caller hears), as in containerd.
                var failed = TaskProtocol.Failed.From(ContainerId, error);
                return new Outcome(r => r, null, requester =>
                {
                    Depart();
                    requester.Tell(failed);
                });
            }
            return new Outcome(r => r with { Status = ProcessStatus.Created }, new TaskProtocol.Done(ContainerId, ExecId), _ =>
            {
                FailPoints.Hit(FailPoint.ExecAfterRecordWritten);
                PublishLifecycle(Topics.ExecAdded, 0);
            });
        }));
        Receive<TaskProtocol.StartExec>(_ =>
        {
            var (task, self, stopping, shim, containerId, execId) = (Context.Parent, Self, Stopping.Token, Shim, ContainerId, ExecId);
            RunLifecycle(async () =>
            {
                // One Start of this task's execs at the shim at a time (ExecStartTurns); the turn is given back in any case.
                await task.Ask<TaskActor.StartTurnGranted>(new TaskActor.RequestStartTurn(self), cancellationToken: stopping)
                    .ConfigureAwait(false);
                uint pid;
                try
                {
                    FailPoints.Hit(FailPoint.ExecStartBeforeShimCall);
                    pid = await shim.StartAsync(containerId, execId).ConfigureAwait(false);
                }
                finally
                {
                    task.Tell(new TaskActor.StartTurnDone(self));
                }
                FailPoints.Hit(FailPoint.ExecStartAfterShimCall);
                return new Outcome(r => r.Started(pid), new TaskProtocol.Started(containerId, execId, pid), _ =>
                {
                    FailPoints.Hit(FailPoint.ExecStartAfterRecordWritten);
                    PublishLifecycle(Topics.ExecStarted, pid);
                    EnsureWaiting();
                    foreach (var (command, replyTo) in _closeBeforeStart) Self.Tell(command, replyTo);
                    _closeBeforeStart.Clear();
                });
            });
        });
        Receive<TaskProtocol.CloseExecIO>(c =>
        {
            if (Record.Pid == 0 && !Record.HasExited)
                _closeBeforeStart.Add((c, Sender));
            else
                RunEmpty(() => Shim.CloseIOAsync(ContainerId, ExecId, c.Stdin));
        });
        Receive<TaskProtocol.KillExec>(k => RunEmpty(async () =>
        {
            FailPoints.Hit(FailPoint.ExecKillBeforeShimCall);
            await Shim.KillAsync(ContainerId, ExecId, k.Signal, false).ConfigureAwait(false);
            FailPoints.Hit(FailPoint.ExecKillAfterShimCall);
        }));
        Receive<TaskProtocol.ResizeExecPty>(p => RunEmpty(() => Shim.ResizePtyAsync(ContainerId, ExecId, p.Width, p.Height)));
        Receive<TaskProtocol.DeleteExec>(_ => RunLifecycle(async () =>
        {
            var record = Record;
            FailPoints.Hit(FailPoint.ExecDeleteBeforeShimCall);
            var deleted = await Shim.DeleteAsync(record.ContainerId, record.ExecId).ConfigureAwait(false);
            FailPoints.Hit(FailPoint.ExecDeleteAfterShimCall);
            // Its exit (unless in already; an exec gets no delete event) is written before its record is forgotten and
            // the caller answered. Unconfirmed, the record stays (the next start settles it) and the caller is told so.
            // An exec never started had no run and gets no exit, as in containerd (and as the dead-shim cleanup does).
            var durable = !record.HasRun ||
                await EnterDurablyAsync(new Exits.Exited(ExitWitness.Deleted(record, deleted), WantAck: true)).ConfigureAwait(false);
            FailPoints.Hit(FailPoint.ExecDeleteAfterExitWritten);
            return new Outcome(r => r, null, requester =>
            {
                FailPendingCloses();
                if (durable) Processes.Tell(new ProcessStoreProtocol.ForgetExec(record.Namespace, record.ContainerId, record.ExecId));
                Depart();
                requester.Tell(durable ? deleted : NotDurable(record.ExecId));
            });
        }));
    }

    /// <summary>
    /// Leaves the task, which forgets this exec and then stops it with a PoisonPill. That pill follows, in this mailbox,
    /// every command the task forwarded before it knew, so those are answered NoSuchProcess rather than lost in dead
    /// letters (a Stop would overtake them).
    /// </summary>
    private void Depart()
    {
        _departed = true;
        Context.Parent.Tell(new ExecDeleted(ExecId, Self));
    }

    protected override bool AroundReceive(Receive receive, object message)
    {
        if (!_departed) return base.AroundReceive(receive, message);
        if (message is IWithExecId) Sender.Tell(TaskProtocol.Failed.NoSuchProcess(ContainerId, ExecId));
        return true;
    }

    protected override void Queries()
    {
        base.Queries();
        Receive<TaskProtocol.WaitExec>(_ => AddWaiter(Sender));
        Receive<TaskProtocol.ExecState>(_ => AnswerState(ExecId));
    }

    private void FailPendingCloses()
    {
        foreach (var (_, replyTo) in _closeBeforeStart)
            replyTo.Tell(TaskProtocol.Failed.NoSuchProcess(ContainerId, ExecId));
        _closeBeforeStart.Clear();
    }

    protected override void PostStop()
    {
        FailPendingCloses();
        base.PostStop();
    }
}
