using System.Collections.Immutable;
using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Protocol.Runc;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using Akka.Actor;

namespace ActorRuntime.Tasks;

/// <summary>A container's init process. Exec commands go to one child actor per exec id.</summary>
internal sealed class TaskActor : ProcessActorBase
{
    private readonly Options? _runcOptions;
    private ImmutableDictionary<string, IActorRef> _execs = ImmutableDictionary<string, IActorRef>.Empty;
    private long _execRuns;

    /// <summary>Told to the parent shim actor once the shim deleted the task; the parent finishes the teardown.</summary>
    public sealed record TaskDeleted(string ContainerId, TaskProtocol.Exited Result, IActorRef ReplyTo);

    public TaskActor(ProcessRecord record, ShimCalls calls, IActorRef eventBus, Options? runcOptions, IActorRef registry)
        : base(record, calls, eventBus, registry)
    {
        _runcOptions = runcOptions;
        Ready();
    }

    public static Props Props(ProcessRecord record, ShimCalls calls, IActorRef eventBus, Options? runcOptions, IActorRef registry) =>
        Akka.Actor.Props.Create(() => new TaskActor(record, calls, eventBus, runcOptions, registry));

    protected override void PreStart()
    {
        // Reloaded after it exited while nothing watched: its exit is owed.
        if (Record.HasExited) PublishExit();
        // A reloaded task that is still running needs its exit observed.
        EnsureWaiting();
        if (Record.Status != ProcessStatus.Unknown) OnRecordChanged(Record);
        base.PreStart();
    }

    private IActorRef StartExecActor(ProcessRecord record, bool reattach)
    {
        var exec = Context.ActorOf(ExecActor.Props(record, Calls, EventBus, Registry, reattach),
            ExecActor.ChildName(record.ExecId, ++_execRuns));
        Context.Watch(exec);
        _execs = _execs.SetItem(record.ExecId, exec);
        return exec;
    }

    protected override void Ready()
    {
        Queries();
        Receive<TaskProtocol.Create>(c => RunLifecycle(async () =>
        {
            var pid = await Calls.CreateAsync(c, Record.Bundle, _runcOptions).ConfigureAwait(false);
            return new Outcome(r => r.Created(pid), new TaskProtocol.Created(ContainerId, pid),
                _ => PublishLifecycle(Topics.Create, pid));
        }));
        Receive<TaskProtocol.Start>(_ => RunLifecycle(async () =>
        {
            var pid = await Calls.StartAsync(ContainerId, "").ConfigureAwait(false);
            return new Outcome(r => r.Started(pid), new TaskProtocol.Started(ContainerId, "", pid), _ =>
            {
                PublishLifecycle(Topics.Start, pid);
                EnsureWaiting();
            });
        }));
        Receive<TaskProtocol.Kill>(k => RunEmpty(() => Calls.KillAsync(ContainerId, "", k.Signal, k.All)));
        Receive<TaskProtocol.Pause>(_ => RunEmpty(() => Calls.PauseAsync(ContainerId), r => r.Paused()));
        Receive<TaskProtocol.Resume>(_ => RunEmpty(() => Calls.ResumeAsync(ContainerId), r => r.Resumed()));
        Receive<TaskProtocol.ResizePty>(p => RunEmpty(() => Calls.ResizePtyAsync(ContainerId, "", p.Width, p.Height)));
        Receive<TaskProtocol.CloseIO>(c => RunEmpty(() => Calls.CloseIOAsync(ContainerId, "", c.Stdin)));
        Receive<TaskProtocol.Checkpoint>(c => RunEmpty(() => Calls.CheckpointAsync(c)));
        Receive<TaskProtocol.Update>(u => RunEmpty(() => Calls.UpdateAsync(u)));
        Receive<TaskProtocol.Shutdown>(s => RunEmpty(() => Calls.ShutdownAsync(ContainerId, s.Now)));
        Receive<TaskProtocol.Delete>(_ => RunLifecycle(async () =>
        {
            var (pid, status, exitedAt) = await Calls.DeleteAsync(ContainerId, "").ConfigureAwait(false);
            // No reply here: the shim actor answers once the shim and bundle are gone.
            return new Outcome(r => r, null, requester =>
            {
                // Exit strictly before delete on the bus, whichever source (shim or us) gets there first.
                PublishExitIfUnseen(pid, status, exitedAt);
                EventBus.Tell(new EventBusProtocol.Publish(TaskEvent.Deleted(Record.Namespace, ContainerId, pid, status, exitedAt)));
                Context.Parent.Tell(new TaskDeleted(ContainerId, new TaskProtocol.Exited(ContainerId, "", pid, status, exitedAt), requester));
            });
        }));
        Receive<TaskProtocol.Exec>(e =>
        {
            if (Identifiers.Check(e.ExecId, "exec id") is { } invalid)
            {
                Sender.Tell(ShimCalls.Failure(ContainerId, invalid));
                return;
            }
            if (_execs.ContainsKey(e.ExecId))
            {
                Sender.Tell(new TaskProtocol.Failed(ContainerId, Protocol.Ttrpc.TtrpcCode.AlreadyExists,
                    $"id {e.ExecId}: already exists"));
                return;
            }
            StartExecActor(new ProcessRecord(Record.Namespace, ContainerId, e.ExecId, Record.Bundle, e.Stdio), reattach: false)
                .Forward(e);
        });
        Receive<IWithExecId>(ForwardToExec);
    }

    private void ForgetExec(string execId, IActorRef exec)
    {
        if (_execs.TryGetValue(execId, out var current) && current.Equals(exec)) _execs = _execs.Remove(execId);
    }

    private void ForwardToExec(IWithExecId command)
    {
        if (!_execs.TryGetValue(command.ExecId, out var child))
            Sender.Tell(new TaskProtocol.Failed(ContainerId, Protocol.Ttrpc.TtrpcCode.NotFound,
                $"process does not exist {command.ExecId}: not found"));
        else
            child.Forward(command);
    }

    protected override void Queries()
    {
        base.Queries();
        Receive<ExecActor.ExecDeleted>(d => ForgetExec(d.ExecId, d.Exec));
        // A reloaded task's recorded execs, each re-attached to the shim's view of it.
        Receive<ShimActor.ReattachExecs>(r =>
        {
            foreach (var exec in r.Execs.Where(e => !_execs.ContainsKey(e.ExecId))) StartExecActor(exec, reattach: true);
        });
        Receive<Terminated>(t =>
        {
            if (_execs.FirstOrDefault(kv => kv.Value.Equals(t.ActorRef)) is { Key: { } execId }) ForgetExec(execId, t.ActorRef);
        });
        // Exec queries go to their exec actor even while the init process has a lifecycle call in flight.
        Receive<IWithExecId>(c => c is IQueryCommand, ForwardToExec);
        Receive<TaskProtocol.Wait>(_ => AddWaiter(Sender));
        Receive<TaskProtocol.State>(_ =>
        {
            var record = Record;
            Calls.StateAsync(ContainerId, "").PipeTo(Sender,
                success: s => ShimCalls.Observe(record, s).ToState(),
                failure: e => ShimCalls.Failure(ContainerId, e));
        });
        Receive<TaskProtocol.Pids>(_ => Calls.PidsAsync(ContainerId).PipeTo(Sender, failure: e => ShimCalls.Failure(ContainerId, e)));
        Receive<TaskProtocol.Stats>(_ => Calls.StatsAsync(ContainerId).PipeTo(Sender, failure: e => ShimCalls.Failure(ContainerId, e)));
    }
}
