using System.Collections.Immutable;
using ActorRuntime.Persistence;
using Akka.Actor;
using Akka.Persistence;

namespace ActorRuntime.Runtime;

/// <summary>Messages of the <see cref="TaskRegistry"/>.</summary>
public static class TaskRegistryProtocol
{
    /// <summary>
    /// Insert or replace what is known of a task or exec (on create, start, exit, pause, resume). With
    /// <paramref name="WantAck"/> the sender gets <see cref="Recorded"/> once the record is durable.
    /// </summary>
    public sealed record Record(TaskRecord Task, bool WantAck = false);

    public sealed record Recorded(string ContainerId, string ExecId);

    /// <summary>The task was deleted: nothing more is owed for it or its execs.</summary>
    public sealed record Forget(string Namespace, string ContainerId);

    /// <summary>The exec was deleted.</summary>
    public sealed record ForgetExec(string Namespace, string ContainerId, string ExecId);

    public sealed record GetAll;

    public sealed record All(IReadOnlyList<TaskRecord> Tasks);

    [PersistedAs("task-recorded-v1")]
    public sealed record TaskRecorded(TaskRecord Task) : IPersisted;

    [PersistedAs("task-forgotten-v1")]
    public sealed record TaskForgotten(string Namespace, string ContainerId) : IPersisted;

    [PersistedAs("exec-forgotten-v1")]
    public sealed record ExecForgotten(string Namespace, string ContainerId, string ExecId) : IPersisted;

    [PersistedAs("task-registry-snapshot-v1")]
    public sealed record Snapshot(IReadOnlyList<TaskRecord> Tasks) : IPersisted;
}

/// <summary>
/// The registry's state: every task and exec not yet deleted, keyed by (container id, exec id; "" for the init).
/// Pure transitions.
/// </summary>
public sealed record TaskRegistryState(ImmutableDictionary<(string ContainerId, string ExecId), TaskRecord> Tasks)
{
    public static readonly TaskRegistryState Empty = new(ImmutableDictionary<(string, string), TaskRecord>.Empty);

    public static TaskRegistryState Of(IEnumerable<TaskRecord> records) =>
        new(records.ToImmutableDictionary(t => (t.ContainerId, t.ExecId)));

    /// <summary>Init records, each with the exec records of its container.</summary>
    public IEnumerable<(TaskRecord Task, IReadOnlyList<TaskRecord> Execs)> Containers() =>
        Tasks.Values.Where(t => t.ExecId.Length == 0).Select(t =>
            (t, (IReadOnlyList<TaskRecord>)Tasks.Values.Where(e => e.ContainerId == t.ContainerId && e.ExecId.Length > 0).ToList()));

    public TaskRegistryState Apply(object evt) => evt switch
    {
        TaskRegistryProtocol.TaskRecorded r => new(Tasks.SetItem((r.Task.ContainerId, r.Task.ExecId), r.Task)),
        TaskRegistryProtocol.TaskForgotten f => new(Tasks.RemoveRange(Tasks.Keys.Where(k => k.ContainerId == f.ContainerId))),
        TaskRegistryProtocol.ExecForgotten f => new(Tasks.Remove((f.ContainerId, f.ExecId))),
        _ => this,
    };

    /// <summary>Only changes worth a journal write become events.</summary>
    public object? Decide(object command) => command switch
    {
        TaskRegistryProtocol.Record r when !Tasks.TryGetValue((r.Task.ContainerId, r.Task.ExecId), out var known) || known != r.Task =>
            new TaskRegistryProtocol.TaskRecorded(r.Task),
        TaskRegistryProtocol.Forget f when Tasks.Keys.Any(k => k.ContainerId == f.ContainerId) =>
            new TaskRegistryProtocol.TaskForgotten(f.Namespace, f.ContainerId),
        TaskRegistryProtocol.ForgetExec f when Tasks.ContainsKey((f.ContainerId, f.ExecId)) =>
            new TaskRegistryProtocol.ExecForgotten(f.Namespace, f.ContainerId, f.ExecId),
        _ => null,
    };
}

/// <summary>
/// Durable record of the tasks of one namespace (bundle, stdio, pid, status, exit status and time), so a runtime
/// restarted after SIGKILL knows which exits are still owed even when a bundle or shim is gone.
/// </summary>
public sealed class TaskRegistry : ReceivePersistentActor
{
    private const int SnapshotEvery = 200;
    private TaskRegistryState _state = TaskRegistryState.Empty;

    public TaskRegistry(string ns)
    {
        PersistenceId = "tasks-" + ns;
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is TaskRegistryProtocol.Snapshot s)
                _state = TaskRegistryState.Of(s.Tasks);
        });
        Recover<TaskRegistryProtocol.TaskRecorded>(e => _state = _state.Apply(e));
        Recover<TaskRegistryProtocol.TaskForgotten>(e => _state = _state.Apply(e));
        Recover<TaskRegistryProtocol.ExecForgotten>(e => _state = _state.Apply(e));

        Command<TaskRegistryProtocol.Record>(r =>
        {
            var ack = r.WantAck ? new TaskRegistryProtocol.Recorded(r.Task.ContainerId, r.Task.ExecId) : null;
            Handle(r, ack);
        });
        Command<TaskRegistryProtocol.Forget>(f => Handle(f, null));
        Command<TaskRegistryProtocol.ForgetExec>(f => Handle(f, null));
        Command<TaskRegistryProtocol.GetAll>(_ => Sender.Tell(new TaskRegistryProtocol.All(_state.Tasks.Values.ToList())));
        Command<SaveSnapshotSuccess>(s => DeleteMessages(s.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(_ => { });
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(_ => { });
    }

    public override string PersistenceId { get; }

    public static Props Props(string ns) => Akka.Actor.Props.Create(() => new TaskRegistry(ns));

    private void Handle(object command, object? ack)
    {
        var sender = Sender;
        if (_state.Decide(command) is not { } evt)
        {
            if (ack is not null) sender.Tell(ack);
            return;
        }
        Persist(evt, e =>
        {
            _state = _state.Apply(e);
            if (ack is not null) sender.Tell(ack);
            if (LastSequenceNr % SnapshotEvery == 0)
                SaveSnapshot(new TaskRegistryProtocol.Snapshot(_state.Tasks.Values.ToList()));
        });
    }
}
