namespace ActorRuntime.Store.Contracts;

// What the lease store writes; same rules as ProcessContracts.cs.

/// <summary>The lease inside the lease events and snapshot.</summary>
public sealed record LeaseV1(string Namespace, string Id, IReadOnlyDictionary<string, string> Labels, DateTimeOffset CreatedAt);

/// <summary>"lease-created-v1".</summary>
public sealed record LeaseCreatedV1(LeaseV1 Lease);

/// <summary>"lease-deleted-v1".</summary>
public sealed record LeaseDeletedV1(string Namespace, string Id);

/// <summary>"lease-store-snapshot-v1".</summary>
public sealed record LeaseStoreSnapshotV1(IReadOnlyList<LeaseV1> Leases);
