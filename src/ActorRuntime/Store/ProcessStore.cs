using System.Collections.Immutable;
using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Shims;
using ActorRuntime.Tasks;
using Akka.Actor;
using Akka.Persistence;

namespace ActorRuntime.Store;

/// <summary>Messages of the <see cref="ProcessStore"/>.</summary>
public static class ProcessStoreProtocol
{
    /// <summary>
    /// Insert or replace what is known of a task or exec (on create, start, exit, pause, resume). With
    /// <paramref name="WantAck"/> the sender gets <see cref="Recorded"/> once the record is durable.
    /// </summary>
    public sealed record Record(ProcessRecord Task, bool WantAck = false);

    public sealed record Recorded(string ContainerId, string ExecId);

    /// <summary>The task was deleted: nothing more is owed for it or its execs.</summary>
    public sealed record Forget(string Namespace, string ContainerId);

    /// <summary>The exec was deleted.</summary>
    public sealed record ForgetExec(string Namespace, string ContainerId, string ExecId);

    public sealed record GetAll;

    public sealed record All(IReadOnlyList<ProcessRecord> Tasks);

    [PersistedAs("task-recorded-v1")]
    public sealed record TaskRecorded(ProcessRecord Task) : IPersisted;

    [PersistedAs("task-forgotten-v1")]
    public sealed record TaskForgotten(string Namespace, string ContainerId) : IPersisted;

    [PersistedAs("exec-forgotten-v1")]
    public sealed record ExecForgotten(string Namespace, string ContainerId, string ExecId) : IPersisted;

    [PersistedAs("task-registry-snapshot-v1")]
    public sealed record Snapshot(IReadOnlyList<ProcessRecord> Tasks) : IPersisted;
}

/// <summary>
/// The registry's state: every task and exec not yet deleted, keyed by (container id, exec id; "" for the init).
/// Pure transitions.
/// </summary>
public sealed record ProcessStoreState(ImmutableDictionary<(string ContainerId, string ExecId), ProcessRecord> Tasks)
{
    public static readonly ProcessStoreState Empty = new(ImmutableDictionary<(string, string), ProcessRecord>.Empty);

    public static ProcessStoreState Of(IEnumerable<ProcessRecord> records) =>
        new(records.ToImmutableDictionary(t => (t.ContainerId, t.ExecId)));

    /// <summary>Init records, each with the exec records of its container.</summary>
    public IEnumerable<(ProcessRecord Task, IReadOnlyList<ProcessRecord> Execs)> Containers() =>
        Tasks.Values.Where(t => t.ExecId.Length == 0).Select(t =>
            (t, (IReadOnlyList<ProcessRecord>)Tasks.Values.Where(e => e.ContainerId == t.ContainerId && e.ExecId.Length > 0).ToList()));

    public ProcessStoreState Apply(object evt) => evt switch
    {
        ProcessStoreProtocol.TaskRecorded r => new(Tasks.SetItem((r.Task.ContainerId, r.Task.ExecId), r.Task)),
        ProcessStoreProtocol.TaskForgotten f => new(Tasks.RemoveRange(Tasks.Keys.Where(k => k.ContainerId == f.ContainerId))),
        ProcessStoreProtocol.ExecForgotten f => new(Tasks.Remove((f.ContainerId, f.ExecId))),
        _ => this,
    };

    /// <summary>Only changes worth a journal write become events.</summary>
    public object? Decide(object command) => command switch
    {
        ProcessStoreProtocol.Record r when !Tasks.TryGetValue((r.Task.ContainerId, r.Task.ExecId), out var known) || known != r.Task =>
            new ProcessStoreProtocol.TaskRecorded(r.Task),
        ProcessStoreProtocol.Forget f when Tasks.Keys.Any(k => k.ContainerId == f.ContainerId) =>
            new ProcessStoreProtocol.TaskForgotten(f.Namespace, f.ContainerId),
        ProcessStoreProtocol.ForgetExec f when Tasks.ContainsKey((f.ContainerId, f.ExecId)) =>
            new ProcessStoreProtocol.ExecForgotten(f.Namespace, f.ContainerId, f.ExecId),
        _ => null,
    };
}

/// <summary>
/// Durable record of the tasks of one namespace (bundle, stdio, pid, status, exit status and time), so a runtime
/// restarted after SIGKILL knows which exits are still owed even when a bundle or shim is gone.
/// </summary>
public sealed class ProcessStore : ReceivePersistentActor
{
    private const int SnapshotEvery = 200;
    private ProcessStoreState _state = ProcessStoreState.Empty;

    public ProcessStore(string ns)
    {
        PersistenceId = "tasks-" + ns;
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is ProcessStoreProtocol.Snapshot s)
                _state = ProcessStoreState.Of(s.Tasks);
        });
        Recover<ProcessStoreProtocol.TaskRecorded>(e => _state = _state.Apply(e));
        Recover<ProcessStoreProtocol.TaskForgotten>(e => _state = _state.Apply(e));
        Recover<ProcessStoreProtocol.ExecForgotten>(e => _state = _state.Apply(e));

        Command<ProcessStoreProtocol.Record>(r =>
        {
            var ack = r.WantAck ? new ProcessStoreProtocol.Recorded(r.Task.ContainerId, r.Task.ExecId) : null;
            Handle(r, ack);
        });
        Command<ProcessStoreProtocol.Forget>(f => Handle(f, null));
        Command<ProcessStoreProtocol.ForgetExec>(f => Handle(f, null));
        Command<ProcessStoreProtocol.GetAll>(_ => Sender.Tell(new ProcessStoreProtocol.All(_state.Tasks.Values.ToList())));
        Command<SaveSnapshotSuccess>(s => DeleteMessages(s.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(_ => { });
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(_ => { });
    }

    public override string PersistenceId { get; }

    public static Props Props(string ns) => Akka.Actor.Props.Create(() => new ProcessStore(ns));

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
                SaveSnapshot(new ProcessStoreProtocol.Snapshot(_state.Tasks.Values.ToList()));
        });
    }
}
