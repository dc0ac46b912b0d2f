using System.Collections.Immutable;
using Akka.Actor;

namespace ActorRuntime.Runtime;

/// <summary>The ShimManager's registry: live shim actors, and which tasks are registered (exit still owed).</summary>
public sealed record ShimManagerState(
    ImmutableDictionary<string, IActorRef> Shims,
    ImmutableHashSet<string> Registered,
    ImmutableHashSet<string> Loading)
{
    public static readonly ShimManagerState Empty = new(
        ImmutableDictionary<string, IActorRef>.Empty, ImmutableHashSet<string>.Empty, ImmutableHashSet<string>.Empty);

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

    /// <summary>Forgets a stopped shim actor; tells whether its task was still registered (then it died).</summary>
    public (ShimManagerState State, bool WasRegistered) ShimStopped(string id) =>
        (this with { Shims = Shims.Remove(id), Registered = Registered.Remove(id), Loading = Loading.Remove(id) },
            Registered.Contains(id));

    public string? IdOf(IActorRef shim) => Shims.FirstOrDefault(kv => kv.Value.Equals(shim)).Key;
}
