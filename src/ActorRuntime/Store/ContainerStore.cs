using ActorRuntime.Containers;
using Akka.Actor;

namespace ActorRuntime.Store;

/// <summary>Messages of the <see cref="ContainerStore"/>; failures come back as <see cref="Tasks.TaskProtocol.Failed"/>.</summary>
public static class ContainerStoreProtocol
{
    public interface IContainerStoreCommand;

    public sealed record Create(ContainerRecord Container) : IContainerStoreCommand;

    public sealed record Get(string Id) : IContainerStoreCommand;

    public sealed record List : IContainerStoreCommand;

    /// <summary>Replaces labels and/or the spec; null leaves a field as it is.</summary>
    public sealed record Update(string Id, IReadOnlyDictionary<string, string>? Labels = null, string? SpecJson = null)
        : IContainerStoreCommand;

    public sealed record Delete(string Id) : IContainerStoreCommand;

    public sealed record Containers(IReadOnlyList<ContainerRecord> Items);

    public sealed record Deleted(string Id);
}

/// <summary>Durable container metadata of one namespace (containerd's containers store), journaled and snapshotted.</summary>
public sealed class ContainerStore(string ns) : DurableActor<ContainerStoreState, ContainerStoreProtocol.IContainerStoreCommand, ContainerStoreEvent>(
    // "containers-" is what existing databases hold this namespace's journal under: changing it loses every container.
    "containers-" + ns,
    ContainerStoreState.Empty,
    new SnapshotPolicy(Every: 200))
{
    public static Props Props(string ns) => Akka.Actor.Props.Create(() => new ContainerStore(ns));

    protected override Decision<ContainerStoreEvent> Decide(ContainerStoreProtocol.IContainerStoreCommand command) =>
        State.Decide(command, DateTimeOffset.UtcNow);
}
