using System.Collections.Immutable;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;
using static ActorRuntime.Store.LeaseStoreProtocol;
using LeaseDecision = ActorRuntime.Store.Decision<ActorRuntime.Store.LeaseStoreEvent>;

namespace ActorRuntime.Store;

/// <summary>A lease of one namespace, with its labels and when it was created.</summary>
public sealed record LeaseRecord(string Namespace, string Id, ImmutableSortedDictionary<string, string> Labels, DateTimeOffset CreatedAt)
{
    public static LeaseRecord Of(string ns, string id, IEnumerable<KeyValuePair<string, string>> labels, DateTimeOffset createdAt) =>
        new(ns, id, labels.ToImmutableSortedDictionary(StringComparer.Ordinal), createdAt);
}

/// <summary>What the <see cref="LeaseStore"/> journals (stored as Contracts/LeaseContracts.cs).</summary>
public abstract record LeaseStoreEvent
{
    public sealed record LeaseCreated(LeaseRecord Lease) : LeaseStoreEvent;

    public sealed record LeaseDeleted(string Namespace, string Id) : LeaseStoreEvent;
}

/// <summary>The lease store's state: every namespace's leases by "namespace/id" ('/' is in no identifier).</summary>
public sealed record LeaseStoreState(ImmutableSortedDictionary<string, LeaseRecord> Leases)
    : IDurableState<LeaseStoreState, LeaseStoreEvent>
{
    public static readonly LeaseStoreState Empty = new(ImmutableSortedDictionary.Create<string, LeaseRecord>(StringComparer.Ordinal));

    public static LeaseStoreState Of(IEnumerable<LeaseRecord> leases) =>
        new(leases.ToImmutableSortedDictionary(l => Key(l.Namespace, l.Id), l => l, StringComparer.Ordinal));

    private static string Key(string ns, string id) => ns + "/" + id;

    /// <summary>
    /// The event a command leads to and the reply (the lease as stored, or <see cref="TaskProtocol.Failed"/> with
    /// containerd's wording). <paramref name="now"/> stamps creation.
    /// </summary>
    public LeaseDecision Decide(ILeaseStoreCommand command, DateTimeOffset now) =>
        Invalid(command) is { } invalid ? Refuse(invalid.Id, invalid.Error) : command switch
        {
            List l => LeaseDecision.Respond(new LeaseStoreProtocol.Leases(
                Leases.Values.Where(x => x.Namespace == l.Namespace).ToList())),
            Create c when NamespaceStoreState.CheckLabels(c.Labels) is { } bad => Refuse(c.Id, bad),
            Create c when Leases.ContainsKey(Key(c.Namespace, c.Id)) =>
                Refuse(c.Id, new AlreadyExistsException($"lease \"{c.Id}\": already exists")),
            Create c => Stored(LeaseRecord.Of(c.Namespace, c.Id, c.Labels, now)),
            Delete d when !Leases.ContainsKey(Key(d.Namespace, d.Id)) =>
                Refuse(d.Id, new NotFoundException($"lease \"{d.Id}\": not found")),
            Delete d => LeaseDecision.Persist(new LeaseStoreEvent.LeaseDeleted(d.Namespace, d.Id), new Deleted(d.Id)),
            _ => throw new ArgumentOutOfRangeException(nameof(command), command, "not a lease store command"),
        };

    public LeaseStoreState Apply(LeaseStoreEvent evt) => evt switch
    {
        LeaseStoreEvent.LeaseCreated c => new(Leases.SetItem(Key(c.Lease.Namespace, c.Lease.Id), c.Lease)),
        LeaseStoreEvent.LeaseDeleted d => new(Leases.Remove(Key(d.Namespace, d.Id))),
        _ => throw new ArgumentOutOfRangeException(nameof(evt), evt, "not a lease store event"),
    };

    /// <summary>
    /// The refusal of a command whose namespace breaks containerd's identifier rule or whose lease id is empty, or null.
    /// Lease ids are not held to the identifier rule: containerd does not, and ctr makes ids like "921556121--XfP".
    /// </summary>
    private static (string Id, TtrpcException Error)? Invalid(ILeaseStoreCommand command)
    {
        // List names no lease; every other command does, and a null id there is refused like an empty one.
        var (ns, hasId, id) = command switch
        {
            List l => (l.Namespace, false, null),
            Create c => (c.Namespace, true, c.Id),
            Delete d => (d.Namespace, true, d.Id),
            _ => ("", false, (string?)null),
        };
        var invalid = Identifiers.Check(ns, "namespace")
            ?? (hasId && string.IsNullOrEmpty(id) ? new InvalidArgumentException("lease id must not be empty: invalid argument") : null);
        return invalid is null ? null : (id ?? "", invalid);
    }

    // The sender gets the lease as stored once its event is durable.
    private static LeaseDecision Stored(LeaseRecord lease) => LeaseDecision.Persist(new LeaseStoreEvent.LeaseCreated(lease), lease);

    private static LeaseDecision Refuse(string id, TtrpcException e) => LeaseDecision.Respond(new TaskProtocol.Failed(id, e.Code, e.Message));
}
