using ActorRuntime.Store;
using Akka.Actor;

namespace ActorRuntime.Events;

/// <summary>
/// The one way a publisher that must not lose an event hands it to the bus: <see cref="EventBusProtocol.Publish"/> with
/// the ack asked for, sent again with a back-off (<see cref="PersistenceBackoff"/>) until the bus acknowledges it — while
/// its writer is down after a failed journal write it answers Unavailable, or not at all. The bus keeps exactly-once, so
/// a copy sent again is never delivered twice.
/// </summary>
internal static class AcknowledgedPublish
{
    /// <summary>Completes once the bus acknowledged <paramref name="e"/>; cancelled (only) by <paramref name="ct"/>.</summary>
    public static Task UntilAcknowledgedAsync(IActorRef bus, TaskEvent e, TimeSpan ackTimeout, PersistenceBackoff retry,
        CancellationToken ct) =>
        retry.AskUntilAnsweredAsync<EventBusProtocol.Published>(bus, new EventBusProtocol.Publish(e, WantAck: true), ackTimeout, ct);

    /// <summary>
    /// <paramref name="e"/> after <paramref name="earlier"/> (a chain of one source's events, so they reach the bus in the
    /// order they were taken), until acknowledged. Failures of the chain before are not this event's: it goes anyway.
    /// </summary>
    public static async Task AfterAsync(Task earlier, IActorRef bus, TaskEvent e, TimeSpan ackTimeout, PersistenceBackoff retry,
        CancellationToken ct)
    {
        try
        {
            await earlier.ConfigureAwait(false);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
        }
        await UntilAcknowledgedAsync(bus, e, ackTimeout, retry, ct).ConfigureAwait(false);
    }
}
