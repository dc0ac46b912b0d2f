using ActorRuntime.Store;
using Akka.Actor;
using static ActorRuntime.Events.EventBusProtocol;

namespace ActorRuntime.Events;

/// <summary>
/// Republishes task events with exit and delete exactly once (rules in <see cref="EventBusState"/>), across restarts and
/// failed journal writes. The bus is two children behind this one address: <see cref="EventBusWriter"/>, the persistent
/// actor that decides each <see cref="Publish"/>, journals it and acks it once written, under a back-off supervisor
/// (<see cref="PersistenceBackoff"/>; Akka stops a persistent actor whose write failed, and the supervisor starts it again,
/// recovered from the journal), and <see cref="SubscriptionHub"/>, which keeps the subscriptions. The hub outlives the
/// writer: after a restart the writer tells it where the journal now ends, and every subscription's stream goes on from
/// where it was, the events it missed read back from the journal (see <see cref="SubscriptionHub"/>).
///
/// <para>Subscription messages go to the hub, everything else to the writer, the sender kept. While the writer is down
/// (the back-off), <see cref="Publish"/> and <see cref="GetStats"/> are answered with Unavailable: a publisher that must
/// not lose its event asks for the ack and retries (<see cref="Tasks.Exits"/> does).</para>
/// </summary>
public sealed class EventBus : ReceiveActor
{
    /// <summary>Tag of every delivered event in the journal (<see cref="Store.TaskEventTagger"/>), for readers by tag.</summary>
    public const string TaskEventsTag = "task-events";

    public EventBus(EventBusSettings settings)
    {
        var hub = Context.ActorOf(SubscriptionHub.Props(settings), "subscriptions");
        var writer = Context.ActorOf(
            PersistenceBackoff.Create(Context.System.Settings.Config)
                .Supervise(EventBusWriter.Props(settings, hub), "writer", $"event bus {settings.PersistenceId}"),
            "journal");
        Receive<ISubscriptionCommand>(c => hub.Forward(c));
        Receive<IEventBusCommand>(c => writer.Forward(c));
    }

    public static Props Props(EventBusSettings? settings = null) =>
        Akka.Actor.Props.Create(() => new EventBus(settings ?? EventBusSettings.Default));

    /// <summary>
    /// The hub's position must follow what the writer has written; a hub restarted on its own would not know it. So a
    /// failing child fails the bus, which starts both anew (the writer recovers and positions the new hub).
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Escalate);
}
