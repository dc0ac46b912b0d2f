using System.Collections.Immutable;
using ActorRuntime.Containers;
using Akka.Actor;

namespace ActorRuntime.Shims;

/// <summary>
/// The ShimManager's routing table: which shim actor serves each container (by namespace and id), which tasks are live
/// (for ListTasks) and which reloads are unfinished (for AwaitLoaded). It decides neither whether an id is taken (the
/// bundle directory does, see <see cref="Bundle"/>) nor whether an exit is owed (the task's record does, see
/// <see cref="Tasks.ProcessRecord"/>).
/// </summary>
public sealed record ShimManagerState(
    ImmutableDictionary<ContainerKey, IActorRef> Shims,
    ImmutableHashSet<ContainerKey> Live,
    ImmutableHashSet<ContainerKey> Loading)
{
    public static readonly ShimManagerState Empty = new(
        ImmutableDictionary<ContainerKey, IActorRef>.Empty, ImmutableHashSet<ContainerKey>.Empty, ImmutableHashSet<ContainerKey>.Empty);

    /// <summary>A stopped shim actor that had not released its bundle: its shim is dead and needs cleaning up after.</summary>
    public sealed record Died(ContainerKey Container, bool WasLoading);

    public IActorRef? ShimOf(ContainerKey container) => Shims.GetValueOrDefault(container);

    /// <summary>The live tasks of one namespace, by id.</summary>
    public IReadOnlyList<string> LiveIn(string ns) =>
        Live.Where(k => k.Namespace == ns).Select(k => k.Id).Order(StringComparer.Ordinal).ToList();

    public ShimManagerState ShimStarted(ContainerKey container, IActorRef shim) => this with { Shims = Shims.SetItem(container, shim) };

    public ShimManagerState ShimReloading(ContainerKey container, IActorRef shim) =>
        this with { Shims = Shims.SetItem(container, shim), Loading = Loading.Add(container) };

    /// <summary>
    /// Lists the task if <paramref name="taskActor"/> belongs to the container's current shim actor (a late word from a
    /// stopped one is ignored); tells whether that finished a reload.
    /// </summary>
    public (ShimManagerState State, bool Reloaded) TaskRegistered(ContainerKey container, IActorRef taskActor)
    {
        if (ShimOf(container) is not { } shim || !taskActor.Path.Parent.Equals(shim.Path)) return (this, false);
        return (this with { Live = Live.Add(container), Loading = Loading.Remove(container) }, Loading.Contains(container));
    }

    /// <summary>The shim actor ends its bundle itself: no more routing to it, and its stop will not count as a death.</summary>
    public ShimManagerState ShimReleased(ContainerKey container, IActorRef shim) =>
        shim.Equals(ShimOf(container)) ? Forget(container) : this;

    /// <summary>Forgets a stopped shim actor; <see cref="Died"/> unless it had released its bundle (then it is no longer known).</summary>
    public (ShimManagerState State, Died? Died) ShimStopped(IActorRef shim)
    {
        var found = Shims.FirstOrDefault(kv => kv.Value.Equals(shim));
        return found.Value is null ? (this, null) : (Forget(found.Key), new Died(found.Key, Loading.Contains(found.Key)));
    }

    private ShimManagerState Forget(ContainerKey container) =>
        this with { Shims = Shims.Remove(container), Live = Live.Remove(container), Loading = Loading.Remove(container) };
}
