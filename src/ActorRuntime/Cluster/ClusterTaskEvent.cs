using ActorRuntime.Events;
using Akka.Persistence.Query;

namespace ActorRuntime.Cluster;

/// <summary>
/// One task event of the cluster's merged stream: the node whose bus delivered it, and its position in the shared
/// journal (the journal's global ordering). A subscriber that records the position of the last event it handled resumes
/// after it, whichever node restarted meanwhile: every node's bus writes into the one journal, and its ordering is the
/// same for every reader.
/// </summary>
/// <para><paramref name="Reason"/>: why the cluster published it for the node, when the node did not (its grace period
/// passed: <see cref="NodeFenceState.Reason"/>); null for the node's own events.</para>
public sealed record ClusterTaskEvent(string Node, long Position, TaskEvent Event, string? Reason = null)
{
    /// <summary>The node of a bus's persistence id ("event-bus@node-2" → "node-2"); a single node's id has no suffix.</summary>
    public static string NodeOf(string persistenceId, string singleNode)
    {
        var at = persistenceId.LastIndexOf('@');
        return at < 0 ? singleNode : persistenceId[(at + 1)..];
    }

    /// <summary>The event an envelope of the tagged journal carries; null for anything else written under the tag.</summary>
    public static ClusterTaskEvent? From(EventEnvelope envelope, string singleNode) => envelope switch
    {
        { Event: EventDelivered delivered, Offset: Sequence position } =>
            new ClusterTaskEvent(NodeOf(envelope.PersistenceId, singleNode), position.Value, delivered.Event),
        { Event: NodeFenceEvent.ContainerGivenUp givenUp, Offset: Sequence position } =>
            new ClusterTaskEvent(NodeOf(envelope.PersistenceId, singleNode), position.Value, givenUp.Event, NodeFenceState.Reason),
        _ => null,
    };
}
