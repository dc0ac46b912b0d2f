using System.Collections.Immutable;
using ActorRuntime.Diagnostics;
using ActorRuntime.Events;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using Akka.Actor;

namespace ActorRuntime.Tasks;

/// <summary>
/// A container's init process. It answers Create itself; the ShimManager hears of the new task by
/// <see cref="ShimManagerProtocol.Registered"/>, told just before. Exec commands go to one child actor per exec id,
/// never held behind the init's call under way.
/// </summary>
internal sealed class TaskActor : ProcessActorBase
{
    private readonly RuncOptions? _runcOptions;
    private readonly IActorRef _manager;
    private readonly bool _reloaded;
    private ImmutableDictionary<string, IActorRef> _execs = ImmutableDictionary<string, IActorRef>.Empty;
    private long _execRuns;
    private ExecStartTurns _startTurns = ExecStartTurns.None;

    /// <summary>
    /// Told to the parent shim actor once the shim deleted the task and the bus wrote its exit and delete; the parent
    /// finishes the teardown and answers <paramref name="Result"/> (the <see cref="TaskProtocol.Exited"/>, or a
    /// <see cref="TaskProtocol.Failed"/> when the bus did not confirm the events).
    /// </summary>
    /// <summary>The task is deleted; <paramref name="Forget"/>: its events are written, so its record is to be forgotten.</summary>
    public sealed record TaskDeleted(object Result, IActorRef ReplyTo, bool Forget);

    /// <summary>Told to the parent shim actor when the shim refused Create; the parent tears the shim down and answers.</summary>
    public sealed record CreateFailed(TaskProtocol.Failed Failure, IActorRef ReplyTo);

    /// <summary>An exec actor asks for its turn to call the shim's Start (<see cref="ExecStartTurns"/>).</summary>
    public sealed record RequestStartTurn(IActorRef Exec);

    public sealed record StartTurnGranted
    {
        public static readonly StartTurnGranted Instance = new();
    }

    /// <summary>The exec's Start at the shim is over, done or failed.</summary>
    public sealed record StartTurnDone(IActorRef Exec);

    public TaskActor(ProcessRecord record, ProcessServices services, RuncOptions? runcOptions, IActorRef manager, bool reloaded)
        : base(record, services)
    {
        _runcOptions = runcOptions;
        _manager = manager;
        _reloaded = reloaded;
        Ready();
    }

    /// <param name="reloaded">The task was found alive at start-up (not created here): it exists from the start.</param>
    public static Props Props(ProcessRecord record, ProcessServices services, RuncOptions? runcOptions, IActorRef manager,
        bool reloaded = false) =>
        Akka.Actor.Props.Create(() => new TaskActor(record, services, runcOptions, manager, reloaded));

    /// <summary>
    /// An exec actor that throws is stopped, never restarted over state it may have half-changed; its id is forgotten
    /// (Terminated) and the task and other execs carry on.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    protected override void PreStart()
    {
        // Reloaded: the task exists (whatever status the shim reports, UNKNOWN included), its record is the shim's view.
        if (_reloaded)
        {
            _manager.Tell(new ShimManagerProtocol.Registered(Record.Namespace, ContainerId));
            OnRecordChanged(Record);
            // It exited while nothing watched.
            if (Record.HasExited) WitnessExit(ExitWitness.Source.Observed);
        }
        // A reloaded task that is still running needs its exit observed.
        EnsureWaiting();
        base.PreStart();
    }

    private IActorRef StartExecActor(ProcessRecord record, bool reattach)
    {
        var exec = Context.ActorOf(ExecActor.Props(record, Services, reattach), ExecActor.ChildName(record.ExecId, ++_execRuns));
        Context.Watch(exec);
        _execs = _execs.SetItem(record.ExecId, exec);
        return exec;
    }

    protected override void Ready()
    {
        Queries();
        Receive<TaskProtocol.Create>(c => RunLifecycle(async () =>
        {
            uint pid;
            try
            {
                FailPoints.Hit(FailPoint.CreateBeforeShimCall);
                pid = await Shim.CreateAsync(c, Record.Bundle, _runcOptions).ConfigureAwait(false);
                FailPoints.Hit(FailPoint.CreateAfterShimCall);
            }
            catch (Exception e)
            {
                // As containerd after a failed Create: the caller hears once the shim and bundle are gone. A connection
                // lost before the reply is a failed Create too, even if the shim had created the task: the caller never
                // got it, so the teardown's one cleanup (the shim binary's delete) kills it, and with no record written
                // nothing is owed on the bus: no exit or delete, now or after a restart. (The shim's own forwarded
                // create may be on the bus already; we relay what shims forward, as containerd does.)
                var failed = TaskProtocol.Failed.From(ContainerId, e);
                return new Outcome(r => r, null, requester => Context.Parent.Tell(new CreateFailed(failed, requester)));
            }
            return new Outcome(r => r.Created(pid), null, requester =>
            {
                FailPoints.Hit(FailPoint.CreateAfterRecordWritten);
                _manager.Tell(new ShimManagerProtocol.Registered(Record.Namespace, ContainerId));
                requester.Tell(new TaskProtocol.Created(ContainerId, pid));
                PublishLifecycle(Topics.Create, pid);
            });
        }));
        Receive<TaskProtocol.Start>(_ => RunLifecycle(async () =>
        {
            FailPoints.Hit(FailPoint.StartBeforeShimCall);
            var pid = await Shim.StartAsync(ContainerId, "").ConfigureAwait(false);
            FailPoints.Hit(FailPoint.StartAfterShimCall);
            return new Outcome(r => r.Started(pid), new TaskProtocol.Started(ContainerId, "", pid), _ =>
            {
                FailPoints.Hit(FailPoint.StartAfterRecordWritten);
                PublishLifecycle(Topics.Start, pid);
                EnsureWaiting();
            });
        }));
        Receive<TaskProtocol.Kill>(k => RunEmpty(async () =>
        {
            FailPoints.Hit(FailPoint.KillBeforeShimCall);
            await Shim.KillAsync(ContainerId, "", k.Signal, k.All).ConfigureAwait(false);
            FailPoints.Hit(FailPoint.KillAfterShimCall);
        }));
        Receive<TaskProtocol.Pause>(_ => RunEmpty(() => Shim.PauseAsync(ContainerId), r => r.Paused()));
        Receive<TaskProtocol.Resume>(_ => RunEmpty(() => Shim.ResumeAsync(ContainerId), r => r.Resumed()));
        Receive<TaskProtocol.ResizePty>(p => RunEmpty(() => Shim.ResizePtyAsync(ContainerId, "", p.Width, p.Height)));
        Receive<TaskProtocol.CloseIO>(c => RunEmpty(() => Shim.CloseIOAsync(ContainerId, "", c.Stdin)));
        Receive<TaskProtocol.Checkpoint>(c => RunEmpty(() => Shim.CheckpointAsync(c)));
        Receive<TaskProtocol.Update>(u => RunEmpty(() => Shim.UpdateAsync(u)));
        Receive<TaskProtocol.Shutdown>(s => RunEmpty(() => Shim.ShutdownAsync(ContainerId, s.Now)));
        Receive<TaskProtocol.Delete>(_ => RunLifecycle(async () =>
        {
            var record = Record;
            FailPoints.Hit(FailPoint.DeleteBeforeShimCall);
            var deleted = await Shim.DeleteAsync(record.ContainerId, "").ConfigureAwait(false);
            FailPoints.Hit(FailPoint.DeleteAfterShimCall);
            // Its exit (unless in already) and delete go out, and are written, before anything forgets they were owed.
            var durable = await EnterDurablyAsync(new Exits.Deleted(ExitWitness.Deleted(record, deleted), WantAck: true))
                .ConfigureAwait(false);
            FailPoints.Hit(FailPoint.DeleteAfterExitWritten);
            // No reply here: the shim actor answers once the record is forgotten and the shim and bundle are gone.
            // Unconfirmed, the record stays (the next start settles it) and the caller is told so.
            return new Outcome(r => r, null, requester =>
                Context.Parent.Tell(new TaskDeleted(durable ? deleted : NotDurable(""), requester, Forget: durable)));
        }));
    }

    private void ForgetExec(string execId, IActorRef exec)
    {
        if (_execs.TryGetValue(execId, out var current) && current.Equals(exec)) _execs = _execs.Remove(execId);
    }

    private void ReleaseStartTurn(IActorRef exec)
    {
        (_startTurns, var granted) = _startTurns.Release(exec);
        granted?.ReplyTo.Tell(StartTurnGranted.Instance);
    }

    private void ForwardToExec(IWithExecId command)
    {
        if (!_execs.TryGetValue(command.ExecId, out var child))
            Sender.Tell(TaskProtocol.Failed.NoSuchProcess(ContainerId, command.ExecId));
        else
            child.Forward(command);
    }

    protected override void Queries()
    {
        base.Queries();
        Receive<ExecActor.ExecDeleted>(d =>
        {
            ForgetExec(d.ExecId, d.Exec);
            d.Exec.Tell(PoisonPill.Instance);
        });
        // A reloaded task's recorded execs, each re-attached to the shim's view of it.
        Receive<ShimActor.ReattachExecs>(r =>
        {
            foreach (var exec in r.Execs.Where(e => !_execs.ContainsKey(e.ExecId))) StartExecActor(exec, reattach: true);
        });
        Receive<Terminated>(t =>
        {
            if (_execs.FirstOrDefault(kv => kv.Value.Equals(t.ActorRef)) is { Key: { } execId }) ForgetExec(execId, t.ActorRef);
            ReleaseStartTurn(t.ActorRef);
        });
        Receive<RequestStartTurn>(r =>
        {
            (_startTurns, var granted) = _startTurns.Request(new ExecStartTurns.Turn(r.Exec, Sender));
            granted?.ReplyTo.Tell(StartTurnGranted.Instance);
        });
        Receive<StartTurnDone>(d => ReleaseStartTurn(d.Exec));
        // Every exec command goes to its exec actor even while the init process has a lifecycle call in flight (a long
        // Pause, Kill, ...): each exec's own mailbox orders its calls, and the shim runs calls of different processes
        // side by side on the one connection.
        Receive<TaskProtocol.Exec>(e =>
        {
            if (Identifiers.Check(e.ExecId, "exec id") is { } invalid)
                Sender.Tell(TaskProtocol.Failed.From(ContainerId, invalid));
            else if (_execs.ContainsKey(e.ExecId))
                Sender.Tell(new TaskProtocol.Failed(ContainerId, Protocol.Ttrpc.TtrpcCode.AlreadyExists, $"id {e.ExecId}: already exists"));
            else
                StartExecActor(new ProcessRecord(Record.Namespace, ContainerId, e.ExecId, Record.Bundle, e.Stdio), reattach: false)
                    .Forward(e);
        });
        Receive<IWithExecId>(ForwardToExec);
        Receive<TaskProtocol.Wait>(_ => AddWaiter(Sender));
        Receive<TaskProtocol.State>(_ => AnswerState(""));
        Receive<TaskProtocol.Pids>(_ => Shim.PidsAsync(ContainerId).PipeTo(Sender, failure: e => TaskProtocol.Failed.From(ContainerId, e)));
        Receive<TaskProtocol.Stats>(_ => Shim.StatsAsync(ContainerId).PipeTo(Sender, failure: e => TaskProtocol.Failed.From(ContainerId, e)));
    }
}
