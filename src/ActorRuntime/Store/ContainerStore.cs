using System.Collections.Immutable;
using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Tasks;
using Akka.Actor;
using Akka.Persistence;

namespace ActorRuntime.Store;

/// <summary>Messages of the <see cref="ContainerStore"/>; failures come back as <see cref="TaskProtocol.Failed"/>.</summary>
public static class ContainerStoreProtocol
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
public sealed record ContainerStoreState(ImmutableSortedDictionary<string, ContainerRecord> Containers)
{
    public static readonly ContainerStoreState Empty = new(ImmutableSortedDictionary<string, ContainerRecord>.Empty);

    public ContainerStoreState Apply(IPersisted evt) => evt switch
    {
        ContainerStoreProtocol.ContainerCreated c => new(Containers.SetItem(c.Container.Id, c.Container)),
        ContainerStoreProtocol.ContainerUpdated u => new(Containers.SetItem(u.Container.Id, u.Container)),
        ContainerStoreProtocol.ContainerDeleted d => new(Containers.Remove(d.Id)),
        _ => this,
    };

    /// <summary>The event a command leads to, or the error (containerd's wording) it is refused with.</summary>
    public (IPersisted? Event, TtrpcException? Error) Decide(object command, DateTimeOffset now) => command switch
    {
        ContainerStoreProtocol.Create c when Identifiers.Check(c.Container.Id, "container id") is { } invalid =>
            (null, invalid),
        ContainerStoreProtocol.Create c when Containers.ContainsKey(c.Container.Id) =>
            (null, new AlreadyExistsException($"container \"{c.Container.Id}\": already exists")),
        ContainerStoreProtocol.Create c =>
            (new ContainerStoreProtocol.ContainerCreated(c.Container with { CreatedAt = now, UpdatedAt = now }), null),
        ContainerStoreProtocol.Update u when !Containers.TryGetValue(u.Id, out _) =>
            (null, new NotFoundException($"container \"{u.Id}\": not found")),
        ContainerStoreProtocol.Update u => (new ContainerStoreProtocol.ContainerUpdated(Containers[u.Id] with
        {
            Labels = u.Labels is null ? Containers[u.Id].Labels : u.Labels.ToImmutableSortedDictionary(StringComparer.Ordinal),
            SpecJson = u.SpecJson ?? Containers[u.Id].SpecJson,
            UpdatedAt = now,
        }), null),
        ContainerStoreProtocol.Delete d when !Containers.TryGetValue(d.Id, out _) =>
            (null, new NotFoundException($"container \"{d.Id}\": not found")),
        ContainerStoreProtocol.Delete d =>
            (new ContainerStoreProtocol.ContainerDeleted(Containers[d.Id].Namespace, d.Id), null),
        _ => (null, new InvalidArgumentException($"unknown command {command.GetType().Name}")),
    };
}

/// <summary>Durable container metadata of one namespace (containerd's containers store), journaled and snapshotted.</summary>
public sealed class ContainerStore : ReceivePersistentActor
{
    private const int SnapshotEvery = 200;
    private ContainerStoreState _state = ContainerStoreState.Empty;

    public ContainerStore(string ns)
    {
        PersistenceId = "containers-" + ns;
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is ContainerStoreProtocol.Snapshot s)
                _state = new ContainerStoreState(s.Containers.ToImmutableSortedDictionary(c => c.Id, c => c, StringComparer.Ordinal));
        });
        Recover<IPersisted>(e => _state = _state.Apply(e));

        Command<ContainerStoreProtocol.Get>(g =>
            Sender.Tell(_state.Containers.TryGetValue(g.Id, out var c)
                ? c
                : Failed(g.Id, new NotFoundException($"container \"{g.Id}\": not found"))));
        Command<ContainerStoreProtocol.List>(_ =>
            Sender.Tell(new ContainerStoreProtocol.Containers(_state.Containers.Values.ToList())));
        Command<ContainerStoreProtocol.Create>(c => Handle(c, c.Container.Id));
        Command<ContainerStoreProtocol.Update>(u => Handle(u, u.Id));
        Command<ContainerStoreProtocol.Delete>(d => Handle(d, d.Id));
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(_ => { });
    }

    public override string PersistenceId { get; }

    public static Props Props(string ns) => Akka.Actor.Props.Create(() => new ContainerStore(ns));

    private static TaskProtocol.Failed Failed(string id, TtrpcException e) => new(id, e.Code, e.Message);

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
                ContainerStoreProtocol.ContainerCreated c => c.Container,
                ContainerStoreProtocol.ContainerUpdated u => u.Container,
                _ => new ContainerStoreProtocol.Deleted(id),
            });
            if (LastSequenceNr % SnapshotEvery == 0)
                SaveSnapshot(new ContainerStoreProtocol.Snapshot(_state.Containers.Values.ToList()));
        });
    }
}
