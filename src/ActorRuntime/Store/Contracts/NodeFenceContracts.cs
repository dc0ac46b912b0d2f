namespace ActorRuntime.Store.Contracts;

// What a node's fence writes (persistence id "node-fence@<node>", cluster mode only); same rules as ProcessContracts.cs.

/// <summary>"node-serving-v1": incarnation <paramref name="Uid"/> serves since <paramref name="At"/>.</summary>
public sealed record NodeServingV1(long Uid, DateTimeOffset At);

/// <summary>"node-lost-v1".</summary>
public sealed record NodeLostV1(DateTimeOffset At);

/// <summary>"container-given-up-v1": the exit or delete the cluster published for a container of a lost node.</summary>
public sealed record ContainerGivenUpV1(TaskEventV2 Event);

/// <summary>"node-given-up-v1".</summary>
public sealed record NodeGivenUpV1(DateTimeOffset At);

/// <summary>"node-giving-up-v1": the grace period passed at At; the node's bus is being fenced before the give-up.</summary>
public sealed record NodeGivingUpV1(DateTimeOffset At);

/// <summary>"node-fenced-v1".</summary>
public sealed record NodeFencedV1(long Uid, DateTimeOffset At);

/// <summary>The container inside the fence's snapshot.</summary>
public sealed record ContainerKeyV1(string Namespace, string Id);

/// <summary>"node-fence-snapshot-v1": <paramref name="Status"/> is "serving", "lost" or "given-up".</summary>
public sealed record NodeFenceSnapshotV1(string Status, long? ServingUid, DateTimeOffset? LostAt, IReadOnlyList<ContainerKeyV1> ToFence,
    DateTimeOffset? ServingSince);
