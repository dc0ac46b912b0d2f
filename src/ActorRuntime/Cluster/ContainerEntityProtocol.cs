namespace ActorRuntime.Cluster;

/// <summary>Messages of the <see cref="ContainerEntity"/>: a runtime command on its way to the node that runs the container.</summary>
public static class ContainerEntityProtocol
{
    /// <summary>Which of the owner node's runtime actors a routed command is for.</summary>
    public enum Target
    {
        EventBus,
        ShimManager,
        Processes,
        Containers,
        Namespaces,
        Leases,
    }

    /// <summary>
    /// <paramref name="Command"/> exactly as the owner's <paramref name="Target"/> takes it (a TaskProtocol.InNamespace, a
    /// store command...); the reply goes straight back to the sender, as if the sender had asked the local actor.
    /// </summary>
    public sealed record Route(string EntityId, Target Target, object Command);

    /// <summary>The entity's own note that a command it asked on a caller's behalf was answered.</summary>
    internal sealed record Answered(object Reply, Akka.Actor.IActorRef ReplyTo);
}
