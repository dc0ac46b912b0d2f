using Akka.Actor;
using Akka.Persistence;

namespace ActorRuntime.Events;

/// <summary>
/// Reads one page of the bus's journal — at most <c>max</c> entries from sequence number <c>from</c> on — for a replaying
/// subscription, reports it to its parent as a <see cref="JournalPage"/> (or <see cref="JournalReadFailed"/>) and stops.
/// It speaks the journal plugin's own replay protocol (<see cref="ReplayMessages"/>, what recovery and Akka's read journals
/// use underneath), so replay needs no read journal, no query polling, and works on every journal plugin.
/// </summary>
internal sealed class JournalPageReader : ReceiveActor
{
    /// <summary>A journal that has not answered by then is taken as failed (the hub retries).</summary>
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(30);

    private readonly List<TaskEvent> _events = [];
    private long _lastSequenceNr;

    public JournalPageReader(string subscriptionId, IActorRef journal, string persistenceId, long from, int max)
    {
        _lastSequenceNr = from - 1;

        Receive<ReplayedMessage>(m =>
        {
            _lastSequenceNr = Math.Max(_lastSequenceNr, m.Persistent.SequenceNr);
            if (m.Persistent.Payload is EventDelivered delivered) _events.Add(delivered.Event);
        });
        Receive<RecoverySuccess>(_ => Finish(new JournalPage(subscriptionId, from, _events, _lastSequenceNr)));
        Receive<ReplayMessagesFailure>(f => Finish(new JournalReadFailed(subscriptionId, from, f.Cause)));
        Receive<ReceiveTimeout>(_ => Finish(new JournalReadFailed(subscriptionId, from,
            new TimeoutException($"the journal did not answer a replay from sequence number {from} within {ReadTimeout}"))));

        journal.Tell(new ReplayMessages(from, long.MaxValue, max, persistenceId, Self));
        Context.SetReceiveTimeout(ReadTimeout);
    }

    public static Props Props(string subscriptionId, IActorRef journal, string persistenceId, long from, int max) =>
        Akka.Actor.Props.Create(() => new JournalPageReader(subscriptionId, journal, persistenceId, from, max));

    private void Finish(object result)
    {
        Context.Parent.Tell(result);
        Context.Stop(Self);
    }
}

/// <summary>
/// The bus's delivered events found in journal entries <paramref name="FromSequenceNr"/>..<paramref name="LastSequenceNr"/>
/// (other entries, <see cref="RunsForgotten"/>, are passed over). No entries at all: LastSequenceNr = FromSequenceNr - 1.
/// </summary>
internal sealed record JournalPage(string SubscriptionId, long FromSequenceNr, IReadOnlyList<TaskEvent> Events, long LastSequenceNr)
{
    public bool IsEmpty => LastSequenceNr < FromSequenceNr;
}

internal sealed record JournalReadFailed(string SubscriptionId, long FromSequenceNr, Exception Error);
