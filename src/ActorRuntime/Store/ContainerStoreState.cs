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

/// <summary>The container store's state: the containers of one namespace by id.</summary>
public sealed record ContainerStoreState(ImmutableSortedDictionary<string, ContainerRecord> Containers)
    : IDurableState<ContainerStoreState, ContainerStoreEvent>
{
    public static readonly ContainerStoreState Empty = new(ImmutableSortedDictionary.Create<string, ContainerRecord>(StringComparer.Ordinal));

    public static ContainerStoreState Of(IEnumerable<ContainerRecord> containers) =>
        new(containers.ToImmutableSortedDictionary(c => c.Id, c => c, StringComparer.Ordinal));

    /// <summary>
    /// The event a command leads to and the reply (the container as stored, or <see cref="TaskProtocol.Failed"/> with
    /// containerd's wording). <paramref name="now"/> stamps creation and updates.
    /// </summary>
    public ContainerDecision Decide(IContainerStoreCommand command, DateTimeOffset now) => command switch
    {
        // Every id is checked before it is looked up (a null would throw in the store, an odd one gets containerd's error).
        Get g when Identifiers.Check(g.Id, "container id") is { } invalid => ContainerDecision.Respond(Failed(g.Id, invalid)),
        Update u when Identifiers.Check(u.Id, "container id") is { } invalid => ContainerDecision.Respond(Failed(u.Id, invalid)),
        Delete d when Identifiers.Check(d.Id, "container id") is { } invalid => ContainerDecision.Respond(Failed(d.Id, invalid)),
        Get g => ContainerDecision.Respond(Containers.TryGetValue(g.Id, out var c) ? c : NotFound(g.Id)),
        List => ContainerDecision.Respond(new ContainerStoreProtocol.Containers(Containers.Values.ToList())),
        Create c when Identifiers.Check(c.Container.Id, "container id") is { } invalid =>
            ContainerDecision.Respond(Failed(c.Container.Id, invalid)),
        Create c when Containers.ContainsKey(c.Container.Id) =>
            ContainerDecision.Respond(Failed(c.Container.Id, new AlreadyExistsException($"container \"{c.Container.Id}\": already exists"))),
        Create c => Created(c.Container with { CreatedAt = now, UpdatedAt = now }),
        Update u when !Containers.ContainsKey(u.Id) => ContainerDecision.Respond(NotFound(u.Id)),
        Update u => Updated(Containers[u.Id] with
        {
            Labels = u.Labels is null ? Containers[u.Id].Labels : u.Labels.ToImmutableSortedDictionary(StringComparer.Ordinal),
            SpecJson = u.SpecJson ?? Containers[u.Id].SpecJson,
            UpdatedAt = now,
        }),
        Delete d when !Containers.ContainsKey(d.Id) => ContainerDecision.Respond(NotFound(d.Id)),
        Delete d => ContainerDecision.Persist(new ContainerStoreEvent.ContainerDeleted(Containers[d.Id].Namespace, d.Id), new Deleted(d.Id)),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command, "not a container store command"),
    };

    public ContainerStoreState Apply(ContainerStoreEvent evt) => evt switch
    {
        ContainerStoreEvent.ContainerCreated c => new(Containers.SetItem(c.Container.Id, c.Container)),
        ContainerStoreEvent.ContainerUpdated u => new(Containers.SetItem(u.Container.Id, u.Container)),
        ContainerStoreEvent.ContainerDeleted d => new(Containers.Remove(d.Id)),
        _ => throw new ArgumentOutOfRangeException(nameof(evt), evt, "not a container store event"),
    };

    // The sender gets the container as stored once its event is durable.
    private static ContainerDecision Created(ContainerRecord stored) =>
        ContainerDecision.Persist(new ContainerStoreEvent.ContainerCreated(stored), stored);

    private static ContainerDecision Updated(ContainerRecord stored) =>
        ContainerDecision.Persist(new ContainerStoreEvent.ContainerUpdated(stored), stored);

    private static TaskProtocol.Failed NotFound(string id) => Failed(id, new NotFoundException($"container \"{id}\": not found"));

    private static TaskProtocol.Failed Failed(string id, TtrpcException e) => new(id, e.Code, e.Message);
}
