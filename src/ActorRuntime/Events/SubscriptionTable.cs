using System.Collections.Immutable;
using System.Globalization;
using Akka.Actor;
using static ActorRuntime.Events.EventBusProtocol;

namespace ActorRuntime.Events;

/// <summary>
/// Everything the <see cref="SubscriptionHub"/> knows: the live position (offset of the last written event the bus
/// handed over), the subscriptions by id, how many it cancelled, and where the journal ended when the hub was first
/// positioned (<paramref name="Began"/>: every event after it was published since). Immutable; each change returns the
/// next table and the effects to carry out.
/// </summary>
internal sealed record SubscriptionTable(EventOffset Live, long LastId, ImmutableDictionary<string, Subscription> ById, long Cancelled,
    EventOffset Began)
{
    public static SubscriptionTable At(EventOffset live) =>
        new(live, 0, ImmutableDictionary.Create<string, Subscription>(StringComparer.Ordinal), 0, live);

    public string NextId => (LastId + 1).ToString(CultureInfo.InvariantCulture);

    /// <summary>Adds a subscription under <see cref="NextId"/>; <paramref name="after"/> null = live only.</summary>
    public (SubscriptionTable Table, IReadOnlyList<HubEffect> Effects) Open(
        SubscriptionKind kind, EventFilter filter, IReadOnlyList<string> filters, IActorRef worker, IActorRef? subscriber,
        EventOffset? after, Action<SubscriptionCancelled>? onCancelled = null)
    {
        var step = Subscription.Open(NextId, kind, filter, filters, worker, subscriber, Live, after, onCancelled);
        return (this with { LastId = LastId + 1, ById = ById.SetItem(step.Next!.Id, step.Next) }, step.Effects);
    }

    /// <summary>An event the bus has written, in offset order: every subscription takes it or passes.</summary>
    public (SubscriptionTable Table, IReadOnlyList<HubEffect> Effects) Route(TaskEvent e, int maxKept)
    {
        var table = this with { Live = EventOffset.Max(Live, EventOffset.Of(e)) };
        var effects = new List<HubEffect>();
        foreach (var subscription in ById.Values)
        {
            var step = subscription.OnLive(e, maxKept);
            table = table.With(subscription, step.Next);
            effects.AddRange(step.Effects);
        }
        return (table.Counting(effects), effects);
    }

    /// <summary>
    /// The writer resumed at <paramref name="live"/> after a restart: past the live position, every subscription reads
    /// the events in between back from the journal (<see cref="Subscription.Resume"/>).
    /// </summary>
    public (SubscriptionTable Table, IReadOnlyList<HubEffect> Effects) Resume(EventOffset live)
    {
        if (live <= Live) return (this, []);
        var table = this with { Live = live };
        var effects = new List<HubEffect>();
        foreach (var subscription in ById.Values)
        {
            var step = subscription.Resume(Live, live);
            table = table.With(subscription, step.Next);
            effects.AddRange(step.Effects);
        }
        return (table, effects);
    }

    /// <summary>One step of one subscription; nothing when it is gone (a late page or progress report).</summary>
    public (SubscriptionTable Table, IReadOnlyList<HubEffect> Effects) Update(string id, Func<Subscription, Step> step)
    {
        if (!ById.TryGetValue(id, out var subscription)) return (this, []);
        var next = step(subscription);
        return (With(subscription, next.Next).Counting(next.Effects), next.Effects);
    }

    public (SubscriptionTable Table, Subscription? Removed) Remove(string id) =>
        ById.TryGetValue(id, out var subscription) ? (this with { ById = ById.Remove(id) }, subscription) : (this, null);

    /// <summary>Subscriptions served by <paramref name="actor"/> (their worker) or delivering to it (their subscriber).</summary>
    public IReadOnlyList<Subscription> Involving(IActorRef actor) =>
        ById.Values.Where(s => s.Worker.Equals(actor) || actor.Equals(s.Subscriber)).ToList();

    public bool HasSubscriber(IActorRef subscriber) => ById.Values.Any(s => subscriber.Equals(s.Subscriber));

    public EventBusStats Stats(long droppedDuplicates, long droppedStale, int trackedRuns) => new(
        Live.Value, droppedDuplicates, droppedStale, trackedRuns,
        ById.Values.OrderBy(s => long.Parse(s.Id, CultureInfo.InvariantCulture)).Select(s => s.Stats()).ToList(), Cancelled, Began.Value);

    private SubscriptionTable Counting(IReadOnlyList<HubEffect> effects) =>
        effects.Any(e => e is HubEffect.Cancel)
            ? this with { Cancelled = Cancelled + effects.Count(e => e is HubEffect.Cancel) }
            : this;

    private SubscriptionTable With(Subscription current, Subscription? next) =>
        ReferenceEquals(current, next) ? this
        : next is null ? this with { ById = ById.Remove(current.Id) }
        : this with { ById = ById.SetItem(next.Id, next) };
}
