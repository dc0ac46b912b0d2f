using System.Collections.Immutable;
using ActorRuntime.Cluster;
using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Tasks;
using static ActorRuntime.Store.ContainerStoreEvent;
using static ActorRuntime.Store.LeaseStoreEvent;
using static ActorRuntime.Store.NamespaceStoreEvent;
using static ActorRuntime.Store.ProcessStoreEvent;

namespace ActorRuntime.Store.Contracts;

/// <summary>
/// Everything the runtime persists, in one table: manifest, domain type, contract, and the mapping both ways. The
/// actors persist and snapshot domain records; <see cref="RuntimeSerializer"/> writes them through this table and reads
/// rows back into them. Manifests and contracts are the stored format and stay as they are (existing databases hold
/// them). To change a format: add a …-v2 contract and a Current entry for it, and turn the v1 entry into
/// <see cref="PersistedFormat.Legacy{TContract,TDomain}"/> that upcasts v1 rows to the domain type.
/// </summary>
public static class RuntimeFormats
{
    // v1 and v2 store ProcessStatus as its enum number; this table pins what each number means, whatever the enum becomes.
    private static readonly ProcessStatus[] StatusV1 =
    [
        ProcessStatus.Unknown, ProcessStatus.Created, ProcessStatus.Running, ProcessStatus.Stopped, ProcessStatus.Paused,
        ProcessStatus.Pausing,
    ];

    // The fence's standing by name, whatever the enum becomes.
    private static readonly IReadOnlyDictionary<NodeFenceState.Standing, string> FenceStanding = new Dictionary<NodeFenceState.Standing, string>
    {
        [NodeFenceState.Standing.Serving] = "serving",
        [NodeFenceState.Standing.Lost] = "lost",
        [NodeFenceState.Standing.GivingUp] = "giving-up",
        [NodeFenceState.Standing.GivenUp] = "given-up",
    };

    public static readonly PersistedFormats All = new(
    [
        // ProcessStore (persistence id "tasks-<ns>")
        PersistedFormat.Legacy<TaskRecordedV1, ProcessRecorded>("task-recorded-v1", c => new(ToDomain(c.Task))),
        PersistedFormat.Current<ProcessRecorded, TaskRecordedV2>("task-recorded-v2",
            e => new(ToContract(e.Process)), c => new(ToDomain(c.Task))),
        PersistedFormat.Current<TaskForgotten, TaskForgottenV1>("task-forgotten-v1",
            e => new(e.Namespace, e.ContainerId), c => new(c.Namespace, c.ContainerId)),
        PersistedFormat.Current<ExecForgotten, ExecForgottenV1>("exec-forgotten-v1",
            e => new(e.Namespace, e.ContainerId, e.ExecId), c => new(c.Namespace, c.ContainerId, c.ExecId)),
        PersistedFormat.Legacy<ProcessStoreSnapshotV1, ProcessStoreState>("task-registry-snapshot-v1",
            c => ProcessStoreState.Of(c.Tasks.Select(ToDomain))),
        PersistedFormat.Current<ProcessStoreState, ProcessStoreSnapshotV2>("task-registry-snapshot-v2",
            s => new(s.Tasks.Values.Select(ToContract).ToList()), c => ProcessStoreState.Of(c.Tasks.Select(ToDomain))),

        // ContainerStore (persistence id "containers-<ns>")
        PersistedFormat.Current<ContainerRecord, ContainerV1>("container-v1", ToContract, ToDomain),
        PersistedFormat.Current<ContainerCreated, ContainerCreatedV1>("container-created-v1",
            e => new(ToContract(e.Container)), c => new(ToDomain(c.Container))),
        PersistedFormat.Current<ContainerUpdated, ContainerUpdatedV1>("container-updated-v1",
            e => new(ToContract(e.Container)), c => new(ToDomain(c.Container))),
        PersistedFormat.Current<ContainerDeleted, ContainerDeletedV1>("container-deleted-v1",
            e => new(e.Namespace, e.Id), c => new(c.Namespace, c.Id)),
        PersistedFormat.Current<ContainerStoreState, ContainerStoreSnapshotV1>("container-registry-snapshot-v1",
            s => new(s.Containers.Values.Select(ToContract).ToList()), c => ContainerStoreState.Of(c.Containers.Select(ToDomain))),

        // NamespaceStore (persistence id "namespaces")
        PersistedFormat.Current<NamespaceCreated, NamespaceCreatedV1>("namespace-created-v1",
            e => new(ToContract(e.Namespace)), c => new(ToDomain(c.Namespace))),
        PersistedFormat.Current<NamespaceUpdated, NamespaceUpdatedV1>("namespace-updated-v1",
            e => new(ToContract(e.Namespace)), c => new(ToDomain(c.Namespace))),
        PersistedFormat.Current<NamespaceDeleted, NamespaceDeletedV1>("namespace-deleted-v1", e => new(e.Name), c => new(c.Name)),
        PersistedFormat.Current<NamespaceStoreState, NamespaceStoreSnapshotV1>("namespace-store-snapshot-v1",
            s => new(s.Namespaces.Values.Select(ToContract).ToList()), c => NamespaceStoreState.Of(c.Namespaces.Select(ToDomain))),

        // LeaseStore (persistence id "leases")
        PersistedFormat.Current<LeaseCreated, LeaseCreatedV1>("lease-created-v1",
            e => new(ToContract(e.Lease)), c => new(ToDomain(c.Lease))),
        PersistedFormat.Current<LeaseDeleted, LeaseDeletedV1>("lease-deleted-v1",
            e => new(e.Namespace, e.Id), c => new(c.Namespace, c.Id)),
        PersistedFormat.Current<LeaseStoreState, LeaseStoreSnapshotV1>("lease-store-snapshot-v1",
            s => new(s.Leases.Values.Select(ToContract).ToList()), c => LeaseStoreState.Of(c.Leases.Select(ToDomain))),

        // EventBus (persistence id "event-bus")
        PersistedFormat.Legacy<TaskEventV1, TaskEvent>("task-event-v1", ToDomain),
        PersistedFormat.Current<TaskEvent, TaskEventV2>("task-event-v2", ToContract, ToDomain),
        PersistedFormat.Legacy<EventDeliveredV1, EventDelivered>("event-delivered-v1",
            c => new(ToDomain(c.Event), ToDomainOrNull(c.Key), c.Run is null ? null : ToDomain(c.Run))),
        PersistedFormat.Legacy<EventDeliveredV2, EventDelivered>("event-delivered-v2",
            c => new(ToDomain(c.Event), ToDomainOrNull(c.Key), c.Run is null ? null : ToDomain(c.Run))),
        PersistedFormat.Current<EventDelivered, EventDeliveredV3>("event-delivered-v3",
            d => new(ToContractOrNull(d.Key), d.Run is null ? null : ToContract(d.Run), ToContract(d.Event)),
            c => new(ToDomain(c.Event), ToDomainOrNull(c.Key), c.Run is null ? null : ToDomain(c.Run))),
        PersistedFormat.Current<RunsForgotten, RunsForgottenV1>("runs-forgotten-v1",
            f => new(f.Keys.Select(ToContract).ToList()), c => new(c.Keys.Select(ToDomain).ToList())),
        PersistedFormat.Current<RunsReleased, RunsReleasedV1>("runs-released-v1",
            r => new(r.Runs.Select(x => new RunReleasedV1(ToContract(x.Key), x.RunId)).ToList(), r.At),
            c => new(c.Runs.Select(x => (ToDomain(x.Key), x.RunId)).ToList(), c.At)),
        PersistedFormat.Current<RunsGivenUp, RunsGivenUpV1>("runs-given-up-v1",
            g => new(g.Keys.Select(ToContract).ToList(), g.ExitStatus, g.At), c => new(c.Keys.Select(ToDomain).ToList(), c.ExitStatus, c.At)),
        PersistedFormat.Legacy<EventBusSnapshotV1, EventBusSnapshot>("event-bus-snapshot-v1",
            c => new(c.LastOffset, c.LastRunId, ToDomain(c.Runs), c.DroppedDuplicates, c.DroppedStale)),
        PersistedFormat.Legacy<EventBusSnapshotV2, EventBusSnapshot>("event-bus-snapshot-v2",
            c => new(c.LastOffset, c.LastRunId, ToDomain(c.Runs), c.DroppedDuplicates, c.DroppedStale)),
        PersistedFormat.Current<EventBusSnapshot, EventBusSnapshotV3>("event-bus-snapshot-v3",
            s => new(s.LastOffset, s.LastRunId, s.Runs.Select(r => new RunEntryV2(ToContract(r.Key), ToContract(r.Run))).ToList(),
                s.DroppedDuplicates, s.DroppedStale),
            c => new(c.LastOffset, c.LastRunId, c.Runs.Select(r => new EventBusSnapshot.RunEntry(ToDomain(r.Key), ToDomain(r.Run))).ToList(),
                c.DroppedDuplicates, c.DroppedStale)),

        // NodeFence (persistence id "node-fence@<node>", cluster mode)
        PersistedFormat.Current<NodeFenceEvent.Serving, NodeServingV1>("node-serving-v1", e => new(e.Uid, e.At), c => new(c.Uid, c.At)),
        PersistedFormat.Current<NodeFenceEvent.Lost, NodeLostV1>("node-lost-v1", e => new(e.At), c => new(c.At)),
        PersistedFormat.Current<NodeFenceEvent.ContainerGivenUp, ContainerGivenUpV1>("container-given-up-v1",
            e => new(ToContract(e.Event)), c => new(ToDomain(c.Event))),
        PersistedFormat.Current<NodeFenceEvent.GivingUp, NodeGivingUpV1>("node-giving-up-v1", e => new(e.At), c => new(c.At)),
        PersistedFormat.Current<NodeFenceEvent.GivenUp, NodeGivenUpV1>("node-given-up-v1", e => new(e.At), c => new(c.At)),
        PersistedFormat.Current<NodeFenceEvent.Fenced, NodeFencedV1>("node-fenced-v1", e => new(e.Uid, e.At), c => new(c.Uid, c.At)),
        PersistedFormat.Current<NodeFenceState, NodeFenceSnapshotV1>("node-fence-snapshot-v1",
            s => new(FenceStanding[s.Status], s.ServingUid, s.LostAt, s.ToFence.Select(k => new ContainerKeyV1(k.Namespace, k.Id)).ToList(),
                s.ServingSince),
            c => new(FenceStanding.Single(p => p.Value == c.Status).Key, c.ServingUid, c.LostAt,
                c.ToFence.Select(k => new ContainerKey(k.Namespace, k.Id)).ToImmutableList(), c.ServingSince)),
    ]);

    private static IReadOnlyList<EventBusSnapshot.RunEntry> ToDomain(IReadOnlyList<RunEntryV1> runs) =>
        runs.Select(r => new EventBusSnapshot.RunEntry(ToDomain(r.Key), ToDomain(r.Run))).ToList();

    private static ProcessRecordV2 ToContract(ProcessRecord p) => new(
        p.Namespace, p.ContainerId, p.ExecId, p.Bundle, new StdioV2(p.Stdio.Stdin, p.Stdio.Stdout, p.Stdio.Stderr, p.Stdio.Terminal),
        p.Pid, StatusNumber(p.Status), p.ExitStatus, p.ExitedAt, p.ExitPublished);

    private static ProcessRecord ToDomain(ProcessRecordV2 c) => new(
        c.Namespace, c.ContainerId, c.ExecId, c.Bundle, new Stdio(c.Stdio.Stdin, c.Stdio.Stdout, c.Stdio.Stderr, c.Stdio.Terminal),
        c.Pid, StatusOf(c.Status), c.ExitStatus, c.ExitedAt, c.ExitPublished);

    // v1 did not know whether an exit was published: false, so a restart offers it again (the bus drops a copy it still
    // remembers). Nulls read as empty.
    private static ProcessRecord ToDomain(ProcessRecordV1 c) => new(
        c.Namespace ?? "", c.ContainerId ?? "", c.ExecId ?? "", c.Bundle ?? "",
        new Stdio(c.Stdio?.Stdin ?? "", c.Stdio?.Stdout ?? "", c.Stdio?.Stderr ?? "", c.Stdio?.Terminal ?? false),
        c.Pid, StatusOf(c.Status), c.ExitStatus, c.ExitedAt);

    private static int StatusNumber(ProcessStatus status) => Array.IndexOf(StatusV1, status) is var n && n >= 0
        ? n
        : throw new ArgumentOutOfRangeException(nameof(status), status, "has no v1 number; add it to StatusV1");

    private static ProcessStatus StatusOf(int number) => number >= 0 && number < StatusV1.Length
        ? StatusV1[number]
        : throw new FormatException($"unknown v1 process status {number}");

    private static ContainerV1 ToContract(ContainerRecord c) =>
        new(c.Namespace, c.Id, c.SpecJson, c.RuntimeName, c.RuntimeOptions, c.Labels, c.Image, c.CreatedAt, c.UpdatedAt);

    private static ContainerRecord ToDomain(ContainerV1 c) => new(
        c.Namespace, c.Id, c.SpecJson, c.RuntimeName, c.RuntimeOptions, c.Labels.ToImmutableSortedDictionary(StringComparer.Ordinal),
        c.Image, c.CreatedAt, c.UpdatedAt);

    private static LeaseV1 ToContract(LeaseRecord l) => new(l.Namespace, l.Id, l.Labels, l.CreatedAt);

    private static LeaseRecord ToDomain(LeaseV1 c) => LeaseRecord.Of(c.Namespace, c.Id, c.Labels, c.CreatedAt);

    private static NamespaceV1 ToContract(NamespaceRecord n) => new(n.Name, n.Labels);

    private static NamespaceRecord ToDomain(NamespaceV1 c) => NamespaceRecord.Of(c.Name, c.Labels);

    private static TaskEventV2 ToContract(TaskEvent e) =>
        new(e.Namespace, e.Topic, e.ContainerId, e.ExecId, e.Pid, e.ExitStatus, e.ExitedAt, e.Timestamp, e.Offset,
            e.Payload?.TypeUrl, e.Payload?.Value);

    private static TaskEvent ToDomain(TaskEventV2 c) =>
        new(c.Namespace, c.Topic, c.ContainerId, c.ExecId, c.Pid, c.ExitStatus, c.ExitedAt, c.Timestamp, c.Offset,
            c.PayloadType is null ? null : new EventPayload(c.PayloadType, c.Payload ?? []));

    // v1 knew task events only: no payload.
    private static TaskEvent ToDomain(TaskEventV1 c) =>
        new(c.Namespace, c.Topic, c.ContainerId, c.ExecId, c.Pid, c.ExitStatus, c.ExitedAt, c.Timestamp, c.Offset);

    private static RunKeyV1 ToContract(RunKey k) => new(k.Namespace, k.ContainerId, k.ExecId);

    private static RunKey ToDomain(RunKeyV1 c) => new(c.Namespace, c.ContainerId, c.ExecId);

    private static RunStateV2 ToContract(RunState r) => new(r.RunId, r.Pid, r.InitRunId, r.Created, r.Started, r.Exited, r.Deleted,
        r.LastSeen, r.FinishedAt, r.RetiredPids, r.ReleasedAt, r.ExitStatus, r.ExitedAt);

    private static RunState ToDomain(RunStateV2 c) => new(
        c.RunId, c.Pid, c.InitRunId, c.Created, c.Started, c.Exited, c.Deleted, c.LastSeen, c.FinishedAt, c.RetiredPids.ToImmutableList(),
        c.ReleasedAt, c.ExitStatus, c.ExitedAt);

    // v1 forgot a finished run after the retention, as if released when it finished; it kept no exit figures.
    private static RunState ToDomain(RunStateV1 c) => new(
        c.RunId, c.Pid, c.InitRunId, c.Created, c.Started, c.Exited, c.Deleted, c.LastSeen, c.FinishedAt, c.RetiredPids.ToImmutableList(),
        ReleasedAt: c.FinishedAt);

    private static RunKeyV1? ToContractOrNull(RunKey? k) => k is null ? null : ToContract(k);

    private static RunKey? ToDomainOrNull(RunKeyV1? c) => c is null ? null : ToDomain(c);

}
