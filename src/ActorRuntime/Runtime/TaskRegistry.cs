using System.Collections.Immutable;
using ActorRuntime.Persistence;
using Akka.Actor;
using Akka.Persistence;

namespace ActorRuntime.Runtime;

/// <summary>Messages of the <see cref="TaskRegistry"/>.</summary>
public static class TaskRegistryProtocol
{
    /// <summary>Insert or replace what is known of a task (on create, start, exit, pause, resume).</summary>
    public sealed record Record(TaskRecord Task);

    /// <summary>The task was deleted: nothing more is owed for it.</summary>
    public sealed record Forget(string Namespace, string ContainerId);

    public sealed record GetAll;

    public sealed record All(IReadOnlyList<TaskRecord> Tasks);

    [PersistedAs("task-recorded-v1")]
    public sealed record TaskRecorded(TaskRecord Task) : IPersisted;

    [PersistedAs("task-forgotten-v1")]
    public sealed record TaskForgotten(string Namespace, string ContainerId) : IPersisted;

    [PersistedAs("task-registry-snapshot-v1")]
    public sealed record Snapshot(IReadOnlyList<TaskRecord> Tasks) : IPersisted;
}

/// <summary>The registry's state: every task not yet deleted, keyed by container id. Pure transitions.</summary>
public sealed record TaskRegistryState(ImmutableDictionary<string, TaskRecord> Tasks)
{
    public static readonly TaskRegistryState Empty = new(ImmutableDictionary<string, TaskRecord>.Empty);

    public TaskRegistryState Apply(object evt) => evt switch
    {
        TaskRegistryProtocol.TaskRecorded r => new(Tasks.SetItem(r.Task.ContainerId, r.Task)),
        TaskRegistryProtocol.TaskForgotten f => new(Tasks.Remove(f.ContainerId)),
        _ => this,
    };

    /// <summary>Only changes worth a journal write become events.</summary>
    public object? Decide(object command) => command switch
    {
        TaskRegistryProtocol.Record r when !Tasks.TryGetValue(r.Task.ContainerId, out var known) || known != r.Task =>
            new TaskRegistryProtocol.TaskRecorded(r.Task),
        TaskRegistryProtocol.Forget f when Tasks.ContainsKey(f.ContainerId) =>
            new TaskRegistryProtocol.TaskForgotten(f.Namespace, f.ContainerId),
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
                _state = new TaskRegistryState(s.Tasks.ToImmutableDictionary(t => t.ContainerId));
        });
        Recover<TaskRegistryProtocol.TaskRecorded>(e => _state = _state.Apply(e));
        Recover<TaskRegistryProtocol.TaskForgotten>(e => _state = _state.Apply(e));

        Command<TaskRegistryProtocol.Record>(Handle);
        Command<TaskRegistryProtocol.Forget>(Handle);
        Command<TaskRegistryProtocol.GetAll>(_ => Sender.Tell(new TaskRegistryProtocol.All(_state.Tasks.Values.ToList())));
        Command<SaveSnapshotSuccess>(s => DeleteMessages(s.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(_ => { });
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(_ => { });
    }

    public override string PersistenceId { get; }

    public static Props Props(string ns) => Akka.Actor.Props.Create(() => new TaskRegistry(ns));

    private void Handle(object command)
    {
        if (_state.Decide(command) is not { } evt) return;
        Persist(evt, e =>
        {
            _state = _state.Apply(e);
            if (LastSequenceNr % SnapshotEvery == 0)
                SaveSnapshot(new TaskRegistryProtocol.Snapshot(_state.Tasks.Values.ToList()));
        });
    }
}
