using System.Collections.Immutable;
using ActorRuntime.Store;

namespace ActorRuntime.Events;

/// <summary>
/// Snapshot of the bus: its written <see cref="EventBusState"/>, runs as a list (JSON-friendly). Offsets are the bus's own
/// delivery numbers, so the state alone says where live delivery resumes after a restart.
/// </summary>
public sealed record EventBusSnapshot(
    long LastOffset,
    long LastRunId,
    IReadOnlyList<EventBusSnapshot.RunEntry> Runs,
    long DroppedDuplicates,
    long DroppedStale)
{
    public sealed record RunEntry(RunKey Key, RunState Run);

    public static EventBusSnapshot Of(EventBusState s) => new(
        s.LastOffset.Value, s.LastRunId,
        s.Runs.OrderBy(kv => kv.Value.RunId).Select(kv => new RunEntry(kv.Key, kv.Value)).ToList(),
        s.DroppedDuplicates, s.DroppedStale);

    public EventBusState ToState() => new(
        new EventOffset(LastOffset), LastRunId, Runs.ToImmutableDictionary(r => r.Key, r => r.Run), DroppedDuplicates, DroppedStale);
}
