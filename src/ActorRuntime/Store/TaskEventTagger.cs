using System.Collections.Immutable;
using ActorRuntime.Events;
using ActorRuntime.Shims;
using ActorRuntime.Tasks;
using Akka.Persistence.Journal;

namespace ActorRuntime.Store;

/// <summary>
/// Write event adapter: tags every delivered bus event <see cref="EventBus.TaskEventsTag"/>, and every event the cluster
/// published for a node it gave up (<see cref="Cluster.NodeFenceEvent.ContainerGivenUp"/>), so the cluster's one stream and
/// tools reading the database by tag (projections, audits) find the task events without decoding the other entries. The bus itself
/// reads its events back by persistence id and sequence number (replay for SubscribeFrom), not by tag.
/// </summary>
public sealed class TaskEventTagger : IWriteEventAdapter
{
    private static readonly IImmutableSet<string> Tags = ImmutableHashSet.Create(EventBus.TaskEventsTag);

    public string Manifest(object evt) => string.Empty;

    public object ToJournal(object evt) => evt is EventDelivered or Cluster.NodeFenceEvent.ContainerGivenUp ? new Tagged(evt, Tags) : evt;
}
