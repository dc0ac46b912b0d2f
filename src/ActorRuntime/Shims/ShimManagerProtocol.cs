using ActorRuntime.Tasks;

namespace ActorRuntime.Shims;

/// <summary>Messages of the ShimManager besides the task commands it routes by container id.</summary>
public static class ShimManagerProtocol
{
    /// <summary>
    /// The task exists (created, or found alive on reload): list it. Told by the task actor before it answers Create,
    /// off the reply's way, so a caller who heard Created finds the task listed.
    /// </summary>
    public sealed record Registered(string Namespace, string ContainerId);

    /// <summary>
    /// Told by a shim actor that ends its bundle itself (the task was deleted, or its start or Create failed): route
    /// nothing more to it, and its stop is not a shim's death.
    /// </summary>
    public sealed record Released(string Namespace, string ContainerId);

    /// <summary>
    /// Told by a shim actor whose connection was lost, once its task actor has answered what it owed: route nothing more
    /// to it and clean up after its shim (<see cref="Unrouted"/> follows; the actor's stop is then no news).
    /// </summary>
    public sealed record Lost(string Namespace, string ContainerId);

    /// <summary>
    /// The manager's answer to <see cref="Released"/> and <see cref="Lost"/>: nothing more will be routed to that shim actor, so it may stop
    /// (once its teardown is done) without a command it was sent going to dead letters.
    /// </summary>
    public sealed record Unrouted(string ContainerId);

    /// <summary>The ids of one namespace's tasks (<see cref="TaskList"/>).</summary>
    public sealed record ListTasks(string Namespace);

    /// <summary>Ask for <see cref="ExitStats"/>: how many witnesses of exits came in, from where, and what entered the bus.</summary>
    public sealed record GetExitStats;

    /// <summary>
    /// Counters of the one door for exits: witnesses offered by source, events they brought into the bus, and witnesses
    /// that brought nothing (their run's exit and delete were already in).
    /// </summary>
    public sealed record ExitStats(IReadOnlyDictionary<ExitWitness.Source, long> Witnessed, long Entered, long Dropped)
    {
        public long WitnessedFrom(ExitWitness.Source source) => Witnessed.GetValueOrDefault(source);
    }

    public sealed record TaskList(IReadOnlyList<string> ContainerIds);

    /// <summary>
    /// An event a client published or forwarded (containerd's Events service): it enters as a shim's forwarded event does
    /// (<see cref="Events.EventsEndpoint.Offer"/>); answered <see cref="Offered"/> at once, as containerd answers a forward.
    /// </summary>
    public sealed record Offer(Events.TaskEvent Event);

    public sealed record Offered;

    /// <summary>Completes when every shim found on disk at start has been reloaded or cleaned up.</summary>
    public sealed record AwaitLoaded;

    public sealed record Loaded(int Reloaded, int CleanedUp);

    /// <summary>
    /// Published on the actor system's event stream after a dead shim was cleaned up (for tests and tools): whether an
    /// exit and delete were owed and published, and with which status.
    /// </summary>
    public sealed record DeadShimCleaned(string ContainerId, bool Published, uint ExitStatus, string Namespace);

    /// <summary>
    /// Published on the actor system's event stream when the ShimManager is about to be restarted after an exception
    /// (which no input may cause): for tests and tools, as <see cref="DeadShimCleaned"/>.
    /// </summary>
    public sealed record Restarting(string Exception, string Message);
}
