using ActorRuntime.Events;
using Akka;
using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace ActorRuntime.Cluster;

/// <summary>
/// The cluster's one event stream: every node's delivered events, read by tag from the shared journal in its global
/// order (Akka.Persistence.Query over the SQL journal). Each node's bus stays the only writer of its own events and
/// decides exactly-once for its containers; the feed only merges, so an event is in it once because it is in the journal
/// once. Positions are exclusive: from position p the feed starts with the first event after p.
/// </summary>
public static class ClusterEventFeed
{
    /// <summary>
    /// Events after <paramref name="position"/>; <paramref name="live"/> keeps the stream open for events written
    /// later (polled every <c>akka.persistence.query.journal.sql.refresh-interval</c>), otherwise it ends at the
    /// journal's current end. <paramref name="singleNode"/> names the node of a bus that has no node suffix.
    /// </summary>
    public static Source<ClusterTaskEvent, NotUsed> From(ActorSystem system, long position, bool live, string singleNode = "local")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        // Obtained here, not earlier: the read journal asks the write journal whether it is initialized (akka-stack.md §2.6).
        var journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
        var envelopes = live
            ? journal.EventsByTag(EventBus.TaskEventsTag, Offset.Sequence(position))
            : journal.CurrentEventsByTag(EventBus.TaskEventsTag, Offset.Sequence(position));
        return envelopes.Select(e => ClusterTaskEvent.From(e, singleNode)).Where(e => e is not null).Select(e => e!);
    }

    /// <summary>
    /// The position of the last event in the journal now (0 when there is none): where a reader that wants only what
    /// happens from now on starts. Reads the tag to its end, so it costs one pass over the journal's events.
    /// </summary>
    public static Task<long> EndAsync(ActorSystem system, CancellationToken ct = default) =>
        From(system, 0, live: false).RunAggregate(0L, (_, e) => e.Position, system.Materializer()).WaitAsync(ct);
}
