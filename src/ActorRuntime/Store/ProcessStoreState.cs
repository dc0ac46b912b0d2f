using System.Collections.Immutable;
using ActorRuntime.Tasks;
using static ActorRuntime.Store.ProcessStoreProtocol;
using ProcessDecision = ActorRuntime.Store.Decision<ActorRuntime.Store.ProcessStoreEvent>;

namespace ActorRuntime.Store;

/// <summary>What the <see cref="ProcessStore"/> journals (stored as Contracts/ProcessContracts.cs).</summary>
public abstract record ProcessStoreEvent
{
    /// <summary>A task's or exec's record, new or changed.</summary>
    public sealed record ProcessRecorded(ProcessRecord Process) : ProcessStoreEvent;

    /// <summary>A task was deleted, and with it every exec of its container.</summary>
    public sealed record TaskForgotten(string Namespace, string ContainerId) : ProcessStoreEvent;

    public sealed record ExecForgotten(string Namespace, string ContainerId, string ExecId) : ProcessStoreEvent;
}

/// <summary>
/// The process store's state: every task and exec not yet deleted, of every namespace, keyed by (namespace, container id,
/// exec id; "" for the init).
/// </summary>
public sealed record ProcessStoreState(ImmutableDictionary<(string Namespace, string ContainerId, string ExecId), ProcessRecord> Tasks)
    : IDurableState<ProcessStoreState, ProcessStoreEvent>
{
    public static readonly ProcessStoreState Empty = new(ImmutableDictionary<(string, string, string), ProcessRecord>.Empty);

    public static ProcessStoreState Of(IEnumerable<ProcessRecord> records) =>
        new(records.ToImmutableDictionary(KeyOf));

    private static (string, string, string) KeyOf(ProcessRecord r) => (r.Namespace, r.ContainerId, r.ExecId);

    /// <summary>Init records, each with the exec records of its container.</summary>
    public IEnumerable<(ProcessRecord Task, IReadOnlyList<ProcessRecord> Execs)> Containers() =>
        Tasks.Values.Where(t => t.ExecId.Length == 0).Select(t =>
            (t, (IReadOnlyList<ProcessRecord>)Tasks.Values.Where(e => e.Namespace == t.Namespace && e.ContainerId == t.ContainerId && e.ExecId.Length > 0).ToList()));

    /// <summary>Only changes worth a journal write become events; a wanted ack follows the write (or comes at once).</summary>
    public ProcessDecision Decide(IProcessStoreCommand command) => command switch
    {
        Record r when Tasks.GetValueOrDefault(KeyOf(r.Task)) == r.Task =>
            ProcessDecision.Respond(AckOf(r)),
        Record r => ProcessDecision.Persist(new ProcessStoreEvent.ProcessRecorded(r.Task), AckOf(r)),
        Forget f when Tasks.Keys.Any(k => k.Namespace == f.Namespace && k.ContainerId == f.ContainerId) =>
            ProcessDecision.Persist(new ProcessStoreEvent.TaskForgotten(f.Namespace, f.ContainerId), AckOf(f)),
        Forget f => ProcessDecision.Respond(AckOf(f)),
        ForgetExec f when Tasks.ContainsKey((f.Namespace, f.ContainerId, f.ExecId)) =>
            ProcessDecision.Persist(new ProcessStoreEvent.ExecForgotten(f.Namespace, f.ContainerId, f.ExecId)),
        ExitPublished p when Stored(p.Process) is { ExitPublished: false } stored =>
            ProcessDecision.Persist(new ProcessStoreEvent.ProcessRecorded(stored.PublishedExit(p.Process))),
        ForgetRun f when Stored(f.Process) is { ExecId.Length: 0 } task =>
            ProcessDecision.Persist(new ProcessStoreEvent.TaskForgotten(task.Namespace, task.ContainerId)),
        ForgetRun f when Stored(f.Process) is { } exec =>
            ProcessDecision.Persist(new ProcessStoreEvent.ExecForgotten(exec.Namespace, exec.ContainerId, exec.ExecId)),
        ForgetExec or ExitPublished or ForgetRun => ProcessDecision.None,
        GetAll => ProcessDecision.Respond(new All(Tasks.Values.ToList())),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command, "not a process store command"),
    };

    public ProcessStoreState Apply(ProcessStoreEvent evt) => evt switch
    {
        ProcessStoreEvent.ProcessRecorded r => new(Tasks.SetItem(KeyOf(r.Process), r.Process)),
        ProcessStoreEvent.TaskForgotten f => new(Tasks.RemoveRange(Tasks.Keys.Where(k => k.Namespace == f.Namespace && k.ContainerId == f.ContainerId))),
        ProcessStoreEvent.ExecForgotten f => new(Tasks.Remove((f.Namespace, f.ContainerId, f.ExecId))),
        _ => throw new ArgumentOutOfRangeException(nameof(evt), evt, "not a process store event"),
    };

    /// <summary>The runs whose records <paramref name="evt"/> forgets (applied to this state).</summary>
    public IReadOnlyList<Events.RunRelease> Forgotten(ProcessStoreEvent evt) => evt switch
    {
        ProcessStoreEvent.TaskForgotten f => Tasks.Where(kv => kv.Key.Namespace == f.Namespace && kv.Key.ContainerId == f.ContainerId)
            .Select(kv => Release(kv.Value)).ToList(),
        ProcessStoreEvent.ExecForgotten f when Tasks.TryGetValue((f.Namespace, f.ContainerId, f.ExecId), out var exec) => [Release(exec)],
        _ => [],
    };

    private static Events.RunRelease Release(ProcessRecord r) => new(new Events.RunKey(r.Namespace, r.ContainerId, r.ExecId), r.Pid);

    /// <summary>The stored record of <paramref name="run"/>'s process if it is still that run (a new run has another pid).</summary>
    private ProcessRecord? Stored(ProcessRecord run) =>
        Tasks.GetValueOrDefault(KeyOf(run)) is { } stored && stored.Pid == run.Pid ? stored : null;

    private static Recorded? AckOf(Record r) => r.WantAck ? new Recorded(r.Task.ContainerId, r.Task.ExecId) : null;

    private static Forgotten? AckOf(Forget f) => f.WantAck ? new Forgotten(f.ContainerId) : null;
}
