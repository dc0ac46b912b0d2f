using System.Collections.Immutable;
using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Shims;
using ActorRuntime.Tasks;
using Akka.Persistence.Journal;

namespace ActorRuntime.Store;

/// <summary>
/// Write event adapter: tags every delivered bus event <see cref="EventBus.TaskEventsTag"/> so the read journal's
/// EventsByTag yields them with the journal's global ordering, which becomes the subscriber-visible offset.
/// </summary>
public sealed class TaskEventTagger : IWriteEventAdapter
{
    private static readonly IImmutableSet<string> Tags = ImmutableHashSet.Create(EventBus.TaskEventsTag);

    public string Manifest(object evt) => string.Empty;

    public object ToJournal(object evt) => evt is EventDelivered ? new Tagged(evt, Tags) : evt;
}
