namespace ActorRuntime.Store.Contracts;

// What the container store writes; same rules as ProcessContracts.cs.

/// <summary>"container-v1", and the container inside the container events and snapshot.</summary>
public sealed record ContainerV1(
    string Namespace,
    string Id,
    string SpecJson,
    string RuntimeName,
    byte[]? RuntimeOptions,
    IReadOnlyDictionary<string, string> Labels,
    string Image,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>"container-created-v1".</summary>
public sealed record ContainerCreatedV1(ContainerV1 Container);

/// <summary>"container-updated-v1".</summary>
public sealed record ContainerUpdatedV1(ContainerV1 Container);

/// <summary>"container-deleted-v1".</summary>
public sealed record ContainerDeletedV1(string Namespace, string Id);

/// <summary>"container-registry-snapshot-v1" (the store's old name lives on in the manifest).</summary>
public sealed record ContainerStoreSnapshotV1(IReadOnlyList<ContainerV1> Containers);
