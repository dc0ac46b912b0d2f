using System.Collections.Immutable;
using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;

namespace ActorRuntime.Shims;

/// <summary>
/// The ShimManager's registry: live shim actors, which tasks are registered (exit still owed), which are being
/// reloaded, and which dead shims are being cleaned up (their id stays taken until the old bundle is gone).
/// </summary>
public sealed record ShimManagerState(
    ImmutableDictionary<string, IActorRef> Shims,
    ImmutableHashSet<string> Registered,
    ImmutableHashSet<string> Loading,
    ImmutableHashSet<string> Cleaning)
{
    public static readonly ShimManagerState Empty = new(
        ImmutableDictionary<string, IActorRef>.Empty, ImmutableHashSet<string>.Empty, ImmutableHashSet<string>.Empty,
        ImmutableHashSet<string>.Empty);

    /// <summary>A live shim or an unfinished cleanup holds the id.</summary>
    public bool IsTaken(string id) => Shims.ContainsKey(id) || Cleaning.Contains(id);

    public ShimManagerState ShimStarted(string id, IActorRef shim) => this with { Shims = Shims.SetItem(id, shim) };

    public ShimManagerState ShimReloading(string id, IActorRef shim) => this with
    {
        Shims = Shims.SetItem(id, shim),
        // A bundle on disk means the task was created and never deleted: its exit is still owed.
        Registered = Registered.Add(id),
        Loading = Loading.Add(id),
    };

    public ShimManagerState TaskRegistered(string id) => this with { Registered = Registered.Add(id), Loading = Loading.Remove(id) };

    public ShimManagerState TaskUnregistered(string id) => this with { Registered = Registered.Remove(id) };

    /// <summary>
    /// Forgets a stopped shim actor; tells whether its task was still registered (then it died, and the id stays
    /// taken until <see cref="CleanupDone"/>).
    /// </summary>
    public (ShimManagerState State, bool WasRegistered) ShimStopped(string id)
    {
        var registered = Registered.Contains(id);
        return (this with
        {
            Shims = Shims.Remove(id),
            Registered = Registered.Remove(id),
            Loading = Loading.Remove(id),
            Cleaning = registered ? Cleaning.Add(id) : Cleaning,
        }, registered);
    }

    public ShimManagerState CleanupDone(string id) => this with { Cleaning = Cleaning.Remove(id) };

    public string? IdOf(IActorRef shim) => Shims.FirstOrDefault(kv => kv.Value.Equals(shim)).Key;
}
