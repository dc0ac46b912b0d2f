using System.Collections.Immutable;
using ActorRuntime.Containers;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;

namespace ActorRuntime.Events;

/// <summary>
/// Snapshot of the bus: its <see cref="EventBusState"/> (runs as a list, JSON-friendly) plus where its live read-side
/// stream was (<paramref name="RoutedOffset"/>: journal ordering of the last event routed; <paramref name="RoutedLocal"/>: that
/// event's bus delivery number), so after a restart the bus resumes its stream there instead of scanning the whole tag.
/// </summary>
public sealed record EventBusSnapshot(
    long LastOffset,
    long LastRunId,
    IReadOnlyList<EventBusSnapshot.RunEntry> Runs,
    long DroppedDuplicates,
    long DroppedStale,
    long RoutedOffset,
    long RoutedLocal)
{
    public sealed record RunEntry(RunKey Key, RunState Run);

    public static EventBusSnapshot Of(EventBusState s, long routedOffset, long routedLocal) => new(
        s.LastOffset, s.LastRunId,
        s.Runs.OrderBy(kv => kv.Value.RunId).Select(kv => new RunEntry(kv.Key, kv.Value)).ToList(),
        s.DroppedDuplicates, s.DroppedStale, routedOffset, routedLocal);

    public EventBusState ToState() => new(
        LastOffset, LastRunId, Runs.ToImmutableDictionary(r => r.Key, r => r.Run), DroppedDuplicates, DroppedStale);
}
