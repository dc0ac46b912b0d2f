using System.Collections.Immutable;
using ActorRuntime.Persistence;
using ActorRuntime.Protocol.Ttrpc;
using Akka.Actor;
using Akka.Persistence;

namespace ActorRuntime.Containers;

/// <summary>Messages of the <see cref="ContainerRegistry"/>; failures come back as <see cref="Runtime.TaskProtocol.Failed"/>.</summary>
public static class ContainerRegistryProtocol
{
    public sealed record Create(ContainerRecord Container);

    public sealed record Get(string Id);

    public sealed record List;

    /// <summary>Replaces labels and/or the spec; null leaves a field as it is.</summary>
    public sealed record Update(string Id, IReadOnlyDictionary<string, string>? Labels = null, string? SpecJson = null);

    public sealed record Delete(string Id);

    public sealed record Containers(IReadOnlyList<ContainerRecord> Items);

    public sealed record Deleted(string Id);

    [PersistedAs("container-created-v1")]
    public sealed record ContainerCreated(ContainerRecord Container) : IPersisted;

    [PersistedAs("container-updated-v1")]
    public sealed record ContainerUpdated(ContainerRecord Container) : IPersisted;

    [PersistedAs("container-deleted-v1")]
    public sealed record ContainerDeleted(string Namespace, string Id) : IPersisted;

    [PersistedAs("container-registry-snapshot-v1")]
    public sealed record Snapshot(IReadOnlyList<ContainerRecord> Containers) : IPersisted;
}

/// <summary>The registry's state and its pure decisions.</summary>
public sealed record ContainerRegistryState(ImmutableSortedDictionary<string, ContainerRecord> Containers)
{
    public static readonly ContainerRegistryState Empty = new(ImmutableSortedDictionary<string, ContainerRecord>.Empty);

    public ContainerRegistryState Apply(IPersisted evt) => evt switch
    {
        ContainerRegistryProtocol.ContainerCreated c => new(Containers.SetItem(c.Container.Id, c.Container)),
        ContainerRegistryProtocol.ContainerUpdated u => new(Containers.SetItem(u.Container.Id, u.Container)),
        ContainerRegistryProtocol.ContainerDeleted d => new(Containers.Remove(d.Id)),
        _ => this,
    };

    /// <summary>The event a command leads to, or the error (containerd's wording) it is refused with.</summary>
    public (IPersisted? Event, TtrpcException? Error) Decide(object command, DateTimeOffset now) => command switch
    {
        ContainerRegistryProtocol.Create c when Identifiers.Check(c.Container.Id, "container id") is { } invalid =>
            (null, invalid),
        ContainerRegistryProtocol.Create c when Containers.ContainsKey(c.Container.Id) =>
            (null, new AlreadyExistsException($"container \"{c.Container.Id}\": already exists")),
        ContainerRegistryProtocol.Create c =>
            (new ContainerRegistryProtocol.ContainerCreated(c.Container with { CreatedAt = now, UpdatedAt = now }), null),
        ContainerRegistryProtocol.Update u when !Containers.TryGetValue(u.Id, out _) =>
            (null, new NotFoundException($"container \"{u.Id}\": not found")),
        ContainerRegistryProtocol.Update u => (new ContainerRegistryProtocol.ContainerUpdated(Containers[u.Id] with
        {
            Labels = u.Labels is null ? Containers[u.Id].Labels : u.Labels.ToImmutableSortedDictionary(StringComparer.Ordinal),
            SpecJson = u.SpecJson ?? Containers[u.Id].SpecJson,
            UpdatedAt = now,
        }), null),
        ContainerRegistryProtocol.Delete d when !Containers.TryGetValue(d.Id, out _) =>
            (null, new NotFoundException($"container \"{d.Id}\": not found")),
        ContainerRegistryProtocol.Delete d =>
            (new ContainerRegistryProtocol.ContainerDeleted(Containers[d.Id].Namespace, d.Id), null),
        _ => (null, new InvalidArgumentException($"unknown command {command.GetType().Name}")),
    };
}

/// <summary>Durable container metadata of one namespace (containerd's containers store), journaled and snapshotted.</summary>
public sealed class ContainerRegistry : ReceivePersistentActor
{
    private const int SnapshotEvery = 200;
    private ContainerRegistryState _state = ContainerRegistryState.Empty;

    public ContainerRegistry(string ns)
    {
        PersistenceId = "containers-" + ns;
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is ContainerRegistryProtocol.Snapshot s)
                _state = new ContainerRegistryState(s.Containers.ToImmutableSortedDictionary(c => c.Id, c => c, StringComparer.Ordinal));
        });
        Recover<IPersisted>(e => _state = _state.Apply(e));

        Command<ContainerRegistryProtocol.Get>(g =>
            Sender.Tell(_state.Containers.TryGetValue(g.Id, out var c)
                ? c
                : Failed(g.Id, new NotFoundException($"container \"{g.Id}\": not found"))));
        Command<ContainerRegistryProtocol.List>(_ =>
            Sender.Tell(new ContainerRegistryProtocol.Containers(_state.Containers.Values.ToList())));
        Command<ContainerRegistryProtocol.Create>(c => Handle(c, c.Container.Id));
        Command<ContainerRegistryProtocol.Update>(u => Handle(u, u.Id));
        Command<ContainerRegistryProtocol.Delete>(d => Handle(d, d.Id));
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(_ => { });
    }

    public override string PersistenceId { get; }

    public static Props Props(string ns) => Akka.Actor.Props.Create(() => new ContainerRegistry(ns));

    private static Runtime.TaskProtocol.Failed Failed(string id, TtrpcException e) => new(id, e.Code, e.Message);

    private void Handle(object command, string id)
    {
        var (evt, error) = _state.Decide(command, DateTimeOffset.UtcNow);
        if (error is not null)
        {
            Sender.Tell(Failed(id, error));
            return;
        }
        Persist(evt!, e =>
        {
            _state = _state.Apply(e);
            Sender.Tell(e switch
            {
                ContainerRegistryProtocol.ContainerCreated c => c.Container,
                ContainerRegistryProtocol.ContainerUpdated u => u.Container,
                _ => new ContainerRegistryProtocol.Deleted(id),
            });
            if (LastSequenceNr % SnapshotEvery == 0)
                SaveSnapshot(new ContainerRegistryProtocol.Snapshot(_state.Containers.Values.ToList()));
        });
    }
}
