using System.Collections.Immutable;
using Akka.Actor;

namespace ActorRuntime.Shims;

/// <summary>
/// The ShimManager's routing table: which shim actor serves each id (routing), which tasks are live (for ListTasks) and which
/// reloads are unfinished (for AwaitLoaded). It decides neither whether an id is taken (the bundle directory does, see
/// <see cref="Bundle"/>) nor whether an exit is owed (the task's record does, see <see cref="Tasks.ProcessRecord"/>).
/// </summary>
public sealed record ShimManagerState(
    ImmutableDictionary<string, IActorRef> Shims,
    ImmutableHashSet<string> Live,
    ImmutableHashSet<string> Loading)
{
    public static readonly ShimManagerState Empty = new(
        ImmutableDictionary<string, IActorRef>.Empty, ImmutableHashSet<string>.Empty, ImmutableHashSet<string>.Empty);

    /// <summary>A stopped shim actor that had not released its bundle: its shim is dead and needs cleaning up after.</summary>
    public sealed record Died(string ContainerId, bool WasLoading);

    public IActorRef? ShimOf(string id) => Shims.GetValueOrDefault(id);

    public ShimManagerState ShimStarted(string id, IActorRef shim) => this with { Shims = Shims.SetItem(id, shim) };

    public ShimManagerState ShimReloading(string id, IActorRef shim) =>
        this with { Shims = Shims.SetItem(id, shim), Loading = Loading.Add(id) };

    /// <summary>
    /// Lists the task if <paramref name="taskActor"/> belongs to the id's current shim actor (a late word from a
    /// stopped one is ignored); tells whether that finished a reload.
    /// </summary>
    public (ShimManagerState State, bool Reloaded) TaskRegistered(string id, IActorRef taskActor)
    {
        if (ShimOf(id) is not { } shim || !taskActor.Path.Parent.Equals(shim.Path)) return (this, false);
        return (this with { Live = Live.Add(id), Loading = Loading.Remove(id) }, Loading.Contains(id));
    }

    /// <summary>The shim actor ends its bundle itself: no more routing to it, and its stop will not count as a death.</summary>
    public ShimManagerState ShimReleased(string id, IActorRef shim) =>
        shim.Equals(ShimOf(id)) ? Forget(id) : this;

    /// <summary>Forgets a stopped shim actor; <see cref="Died"/> unless it had released its bundle (then it is no longer known).</summary>
    public (ShimManagerState State, Died? Died) ShimStopped(IActorRef shim)
    {
        var id = Shims.FirstOrDefault(kv => kv.Value.Equals(shim)).Key;
        return id is null ? (this, null) : (Forget(id), new Died(id, Loading.Contains(id)));
    }

    private ShimManagerState Forget(string id) =>
        this with { Shims = Shims.Remove(id), Live = Live.Remove(id), Loading = Loading.Remove(id) };
}
