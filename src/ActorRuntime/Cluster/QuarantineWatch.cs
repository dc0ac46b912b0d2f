using Akka.Actor;
using Akka.Event;
using Akka.Remote;

namespace ActorRuntime.Cluster;

/// <summary>
/// A node that was frozen (SIGSTOP) or cut off past the split-brain resolver's decision may come back to find the others
/// have downed, removed and quarantined it, while its own view, stale, shows them gone instead: it would go on as a
/// cluster of one. The others' quarantine is the word that settles it — this node is the one that was downed — so it
/// ends its actor system the way a downing does (<see cref="CoordinatedShutdown.ClusterDowningReason"/>), and its host starts
/// it again.
/// </summary>
public sealed class QuarantineWatch : ReceiveActor
{
    public QuarantineWatch()
    {
        Receive<ThisActorSystemQuarantinedEvent>(e =>
        {
            Context.GetLogger().Warning("{0} quarantined this node: it was downed by the cluster; leaving", e.RemoteAddress);
            CoordinatedShutdown.Get(Context.System).Run(CoordinatedShutdown.ClusterDowningReason.Instance);
        });
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new QuarantineWatch());

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(ThisActorSystemQuarantinedEvent));

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);
}
