using System.Collections.Immutable;
using ActorRuntime.Containers;
using ActorRuntime.Protocol.Ttrpc;
using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;

namespace ActorRuntime.Cluster;

/// <summary>
/// The replicated map "&lt;namespace&gt;/&lt;container&gt;" → node (an LWWMap in Akka.DistributedData) that lets any node turn a
/// container id into its entity: claimed before the container is created on its node, released once it is deleted.
/// Writes go to a majority so a node asking right after a create finds the owner; reads are local first and ask a
/// majority only for an id not known here yet.
/// </summary>
public sealed class ContainerOwners(ActorSystem system, TimeSpan timeout)
{
    public static readonly LWWDictionaryKey<string, string> Key = new("actorruntime-container-owners");

    private readonly IActorRef _replicator = DistributedData.Get(system).Replicator;
    private readonly UniqueAddress _self = Akka.Cluster.Cluster.Get(system).SelfUniqueAddress;

    public static string EntryOf(string ns, string id) => $"{ns}/{id}";

    /// <summary>The node that runs the container; null when no node has it.</summary>
    public async Task<string?> OwnerAsync(string ns, string id, CancellationToken ct = default)
    {
        var entry = EntryOf(ns, id);
        if ((await ReadAsync(ReadLocal.Instance, ct)).TryGetValue(entry, out var node)) return node;
        return (await ReadAsync(new ReadMajority(timeout), ct)).TryGetValue(entry, out node) ? node : null;
    }

    /// <summary>Every container's node.</summary>
    public async Task<IReadOnlyDictionary<string, string>> AllAsync(CancellationToken ct = default) =>
        (await ReadAsync(new ReadMajority(timeout), ct)).Entries;

    /// <summary>How many containers each node has.</summary>
    public async Task<IReadOnlyDictionary<string, int>> CountsAsync(CancellationToken ct = default) =>
        (await AllAsync(ct)).GroupBy(e => e.Value).ToDictionary(g => g.Key, g => g.Count());

    /// <summary>Records <paramref name="node"/> as the container's; AlreadyExists naming the owner when another node has the id.</summary>
    public async Task ClaimAsync(string ns, string id, string node, CancellationToken ct = default)
    {
        var entry = EntryOf(ns, id);
        // A majority read first merges what others wrote into the local replica the update below checks.
        if ((await ReadAsync(new ReadMajority(timeout), ct)).TryGetValue(entry, out var owner) && owner != node)
            throw AlreadyExists(ns, id, owner);
        await UpdateAsync(map => map.TryGetValue(entry, out var now) && now != node
            ? throw AlreadyExists(ns, id, now)
            : map.SetItem(_self, entry, node), ct);
    }

    /// <summary>Forgets the container (deleted, or its create failed).</summary>
    public Task ReleaseAsync(string ns, string id, CancellationToken ct = default) =>
        UpdateAsync(map => map.Remove(_self, EntryOf(ns, id)), ct);

    /// <summary>Forgets the container if <paramref name="node"/> still has it (a later claim by another node stays).</summary>
    public Task ReleaseIfOwnedAsync(string ns, string id, string node, CancellationToken ct = default) =>
        UpdateAsync(map => map.TryGetValue(EntryOf(ns, id), out var owner) && owner == node ? map.Remove(_self, EntryOf(ns, id)) : map, ct);

    /// <summary>The containers <paramref name="node"/> has.</summary>
    public async Task<IReadOnlyList<ContainerKey>> OfNodeAsync(string node, CancellationToken ct = default) =>
        [.. (await AllAsync(ct)).Where(e => e.Value == node).Select(e => KeyOf(e.Key)).Order()];

    /// <summary>The container of an entry ("namespace/id": '/' is in no identifier).</summary>
    public static ContainerKey KeyOf(string entry)
    {
        var slash = entry.IndexOf('/');
        return new ContainerKey(entry[..slash], entry[(slash + 1)..]);
    }

    private static AlreadyExistsException AlreadyExists(string ns, string id, string owner) =>
        new($"container \"{id}\" in namespace \"{ns}\": already exists (on node {owner})");

    private async Task<LWWDictionary<string, string>> ReadAsync(IReadConsistency consistency, CancellationToken ct)
    {
        var reply = await _replicator.Ask<IGetResponse>(Dsl.Get(Key, consistency), timeout + TimeSpan.FromSeconds(1), ct);
        return reply switch
        {
            GetSuccess success => success.Get(Key),
            NotFound => LWWDictionary<string, string>.Empty,
            // A majority that did not answer in time: what this node knows is the best answer there is.
            GetFailure => consistency is ReadLocal ? LWWDictionary<string, string>.Empty : await ReadAsync(ReadLocal.Instance, ct),
            _ => throw new InvalidOperationException($"container owners: unexpected {reply.GetType().Name}"),
        };
    }

    private async Task UpdateAsync(Func<LWWDictionary<string, string>, LWWDictionary<string, string>> modify, CancellationToken ct)
    {
        var reply = await _replicator.Ask<IUpdateResponse>(
            Dsl.Update(Key, LWWDictionary<string, string>.Empty, new WriteMajority(timeout), modify), timeout + TimeSpan.FromSeconds(1), ct);
        switch (reply)
        {
            case UpdateSuccess:
            // Written here and on its way to the others by gossip: good enough, the next majority read finds it.
            case UpdateTimeout:
                return;
            case ModifyFailure { Cause: TtrpcException e }:
                throw e;
            case ModifyFailure failure:
                throw new InvalidOperationException($"container owners: {failure.ErrorMessage}", failure.Cause);
            default:
                throw TtrpcException.FromStatus(TtrpcCode.Unavailable, $"container owners: the update failed ({reply.GetType().Name})");
        }
    }
}
