namespace ActorRuntime.Store.Contracts;

// What the namespace store writes; same rules as ProcessContracts.cs.

/// <summary>The namespace inside the namespace events and snapshot.</summary>
public sealed record NamespaceV1(string Name, IReadOnlyDictionary<string, string> Labels);

/// <summary>"namespace-created-v1".</summary>
public sealed record NamespaceCreatedV1(NamespaceV1 Namespace);

/// <summary>"namespace-updated-v1".</summary>
public sealed record NamespaceUpdatedV1(NamespaceV1 Namespace);

/// <summary>"namespace-deleted-v1".</summary>
public sealed record NamespaceDeletedV1(string Name);

/// <summary>"namespace-store-snapshot-v1".</summary>
public sealed record NamespaceStoreSnapshotV1(IReadOnlyList<NamespaceV1> Namespaces);
