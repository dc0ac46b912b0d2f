using System.Collections.Immutable;
using ActorRuntime.Containers;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;
using static ActorRuntime.Store.ContainerStoreProtocol;
using ContainerDecision = ActorRuntime.Store.Decision<ActorRuntime.Store.ContainerStoreEvent>;

namespace ActorRuntime.Store;

/// <summary>What the <see cref="ContainerStore"/> journals (stored as Contracts/ContainerContracts.cs).</summary>
public abstract record ContainerStoreEvent
{
    public sealed record ContainerCreated(ContainerRecord Container) : ContainerStoreEvent;

    public sealed record ContainerUpdated(ContainerRecord Container) : ContainerStoreEvent;

    public sealed record ContainerDeleted(string Namespace, string Id) : ContainerStoreEvent;
}

/// <summary>The container store's state: the containers of every namespace by namespace and id.</summary>
public sealed record ContainerStoreState(ImmutableSortedDictionary<ContainerKey, ContainerRecord> Containers)
    : IDurableState<ContainerStoreState, ContainerStoreEvent>
{
    public static readonly ContainerStoreState Empty = new(ImmutableSortedDictionary.Create<ContainerKey, ContainerRecord>());

    public static ContainerStoreState Of(IEnumerable<ContainerRecord> containers) =>
        new(containers.ToImmutableSortedDictionary(KeyOf, c => c));

    private static ContainerKey KeyOf(ContainerRecord c) => new(c.Namespace, c.Id);

    /// <summary>
    /// The event a command leads to and the reply (the container as stored, or <see cref="TaskProtocol.Failed"/> with
    /// containerd's wording). <paramref name="now"/> stamps creation and updates.
    /// </summary>
    public ContainerDecision Decide(IContainerStoreCommand command, DateTimeOffset now) =>
        // Every name is checked before it is looked up (a null would throw in the store, an odd one gets containerd's error).
        Invalid(command) is { } invalid ? ContainerDecision.Respond(invalid) : command switch
        {
            Get g => ContainerDecision.Respond(Containers.TryGetValue(new(g.Namespace, g.Id), out var c) ? c : NotFound(g.Namespace, g.Id)),
            List l => ContainerDecision.Respond(new ContainerStoreProtocol.Containers(
                Containers.Values.Where(c => c.Namespace == l.Namespace).ToList())),
            Create c when Containers.ContainsKey(KeyOf(c.Container)) => ContainerDecision.Respond(Failed(c.Container.Id,
                new AlreadyExistsException($"container \"{c.Container.Id}\": already exists"))),
            Create c => Created(c.Container with { CreatedAt = now, UpdatedAt = now }),
            Update u when !Containers.ContainsKey(new(u.Namespace, u.Id)) => ContainerDecision.Respond(NotFound(u.Namespace, u.Id)),
            Update u => Updated(Changed(Containers[new(u.Namespace, u.Id)], u, now)),
            Delete d when !Containers.ContainsKey(new(d.Namespace, d.Id)) => ContainerDecision.Respond(NotFound(d.Namespace, d.Id)),
            Delete d => ContainerDecision.Persist(new ContainerStoreEvent.ContainerDeleted(d.Namespace, d.Id), new Deleted(d.Id)),
            _ => throw new ArgumentOutOfRangeException(nameof(command), command, "not a container store command"),
        };

    private static ContainerRecord Changed(ContainerRecord current, Update update, DateTimeOffset now) => current with
    {
        Labels = update.Labels is null ? current.Labels : update.Labels.ToImmutableSortedDictionary(StringComparer.Ordinal),
        SpecJson = update.SpecJson ?? current.SpecJson,
        UpdatedAt = now,
    };

    /// <summary>The refusal of a command whose namespace or container id breaks containerd's identifier rule, or null.</summary>
    private static TaskProtocol.Failed? Invalid(IContainerStoreCommand command)
    {
        var (ns, id, hasId) = command switch
        {
            Get g => (g.Namespace, g.Id, true),
            List l => (l.Namespace, "", false),
            Create c => (c.Container.Namespace, c.Container.Id, true),
            Update u => (u.Namespace, u.Id, true),
            Delete d => (d.Namespace, d.Id, true),
            _ => ("", "", false),
        };
        var invalid = Identifiers.Check(ns, "namespace") ?? (hasId ? Identifiers.Check(id, "container id") : null);
        return invalid is null ? null : Failed(id ?? "", invalid);
    }

    public ContainerStoreState Apply(ContainerStoreEvent evt) => evt switch
    {
        ContainerStoreEvent.ContainerCreated c => new(Containers.SetItem(KeyOf(c.Container), c.Container)),
        ContainerStoreEvent.ContainerUpdated u => new(Containers.SetItem(KeyOf(u.Container), u.Container)),
        ContainerStoreEvent.ContainerDeleted d => new(Containers.Remove(new(d.Namespace, d.Id))),
        _ => throw new ArgumentOutOfRangeException(nameof(evt), evt, "not a container store event"),
    };

    // The sender gets the container as stored once its event is durable.
    private static ContainerDecision Created(ContainerRecord stored) =>
        ContainerDecision.Persist(new ContainerStoreEvent.ContainerCreated(stored), stored);

    private static ContainerDecision Updated(ContainerRecord stored) =>
        ContainerDecision.Persist(new ContainerStoreEvent.ContainerUpdated(stored), stored);

    /// <summary>containerd's words, which clients show as they are.</summary>
    private static TaskProtocol.Failed NotFound(string ns, string id) =>
        Failed(id, new NotFoundException($"container \"{id}\" in namespace \"{ns}\": not found"));

    private static TaskProtocol.Failed Failed(string id, TtrpcException e) => new(id, e.Code, e.Message);
}
