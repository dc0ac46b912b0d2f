using ActorRuntime.Events;
using Akka.Actor;
using static ActorRuntime.Events.EventBusProtocol;

namespace ActorRuntime.Tests.Events;

/// <summary>The subscription side's pure state: routing, the replay of a SubscribeFrom and its switch to live events.</summary>
public sealed class SubscriptionTableSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static TaskEvent Ev(long offset, string topic = Topics.Oom) =>
        new("moby", topic, $"c{offset}", "", 0, 0, null, T0, offset);

    private static IEnumerable<TaskEvent> Evs(long from, long to) =>
        Enumerable.Range((int)from, (int)(to - from + 1)).Select(o => Ev(o));

    private static (SubscriptionTable Table, IReadOnlyList<HubEffect> Effects) Open(
        SubscriptionTable table, long? after, params string[] filters) =>
        table.Open(SubscriptionKind.Actor, EventFilter.ParseAll(filters), filters, ActorRefs.Nobody, ActorRefs.Nobody,
            after is { } a ? new EventOffset(a) : null);

    private static JournalPage Page(long fromSequenceNr, long lastSequenceNr, IEnumerable<TaskEvent> events) =>
        new("1", fromSequenceNr, events.ToList(), lastSequenceNr);

    private static List<long> Delivered(IEnumerable<HubEffect> effects) =>
        effects.OfType<HubEffect.Deliver>().Select(d => d.Event.Offset).ToList();

    private static List<long> Reads(IEnumerable<HubEffect> effects) =>
        effects.OfType<HubEffect.ReadJournal>().Select(r => r.FromSequenceNr).ToList();

    /// <summary>Routes live events <paramref name="from"/>..<paramref name="to"/> and collects every effect.</summary>
    private static (SubscriptionTable Table, List<HubEffect> Effects) RouteAll(SubscriptionTable table, long from, long to, int maxKept = 0)
    {
        var effects = new List<HubEffect>();
        foreach (var e in Evs(from, to))
        {
            var (next, fx) = table.Route(e, maxKept);
            table = next;
            effects.AddRange(fx);
        }
        return (table, effects);
    }

    [Fact]
    public void A_replay_reads_from_the_offset_after_and_live_events_wait_until_it_reaches_the_live_position()
    {
        var (table, effects) = Open(SubscriptionTable.At(new EventOffset(10)), after: 4);
        Assert.Equal([5L], Reads(effects));

        var (kept, live) = RouteAll(table, 11, 12);
        Assert.Empty(live);

        // Sequence numbers 5..9 hold offsets 5..8 and one forgotten-runs entry; offset 4 (below the start) is passed over.
        var (afterFirst, first) = kept.Update("1", s => s.OnPage(Page(5, 9, [Ev(4), .. Evs(5, 8)]), pageSize: 4));
        Assert.Equal([5L, 6, 7, 8], Delivered(first));
        Assert.Equal([10L], Reads(first));

        // The second page runs past the live position (10); 11 comes from the kept live events, not from the journal.
        var (switched, second) = afterFirst.Update("1", s => s.OnPage(Page(10, 12, Evs(9, 11)), pageSize: 4));
        Assert.Equal([9L, 10, 11, 12], Delivered(second));
        Assert.Null(switched.ById["1"].CatchUp);

        var (final, after) = RouteAll(switched, 13, 13);
        Assert.Equal([13L], Delivered(after));
        Assert.Equal(9, final.ById["1"].Enqueued);
    }

    [Fact]
    public void The_next_page_is_read_only_once_the_worker_is_down_to_one_page_outstanding()
    {
        var (table, _) = Open(SubscriptionTable.At(new EventOffset(20)), after: 0);
        var (paged, effects) = table.Update("1", s => s.OnPage(Page(1, 3, Evs(1, 3)), pageSize: 2));
        Assert.Equal([1L, 2, 3], Delivered(effects));
        Assert.Empty(Reads(effects));

        var (_, stillBusy) = paged.Update("1", s => s.OnProgress(new WorkerProgress("1", 3, 0, new EventOffset(3), EventOffset.Start, 0, 0, EventOffset.Start), 2));
        Assert.Empty(Reads(stillBusy));
        var (_, drained) = paged.Update("1", s => s.OnProgress(new WorkerProgress("1", 3, 1, new EventOffset(3), new EventOffset(1), 0, 0, new EventOffset(1)), 2));
        Assert.Equal([4L], Reads(drained));
    }

    [Fact]
    public void A_page_for_another_read_than_the_current_one_changes_nothing()
    {
        var (table, _) = Open(SubscriptionTable.At(new EventOffset(10)), after: 4);
        var (same, effects) = table.Update("1", s => s.OnPage(Page(8, 10, Evs(8, 10)), pageSize: 4));
        Assert.Empty(effects);
        Assert.Same(table, same);
    }

    [Fact]
    public void Too_many_live_events_while_replaying_cancel_the_subscription()
    {
        var (table, _) = Open(SubscriptionTable.At(new EventOffset(10)), after: 4);
        var (after, effects) = RouteAll(table, 11, 13, maxKept: 2);
        var cancel = Assert.Single(effects.OfType<HubEffect.Cancel>());
        Assert.Equal("1", cancel.Subscription.Id);
        Assert.Contains("more than 2 live events", cancel.Reason);
        Assert.Empty(after.ById);
        Assert.Equal(1, after.Cancelled);
        // Nothing replayed yet: it resumes where it began.
        Assert.Equal(new EventOffset(4), cancel.Subscription.ResumeAfter);
    }

    [Fact]
    public void A_cancelled_subscription_resumes_after_what_its_worker_has_handled()
    {
        var (table, _) = Open(SubscriptionTable.At(new EventOffset(10)), after: 4);
        var (paged, _) = table.Update("1", s => s.OnPage(Page(5, 8, Evs(5, 8)), pageSize: 4));
        // 5..8 handed over, everything up to 6 handled.
        var (progressed, _) = paged.Update("1", s => s.OnProgress(
            new WorkerProgress("1", 4, 2, new EventOffset(8), new EventOffset(6), 0, 0, new EventOffset(6)), 4));
        var (after, effects) = progressed.Update("1", s => s.OnReadFailed(9, new IOException("down"), maxAttempts: 1));

        var cancel = Assert.Single(effects.OfType<HubEffect.Cancel>());
        Assert.Equal(new EventOffset(6), cancel.Subscription.ResumeAfter);
        Assert.Equal(1, after.Cancelled);
        Assert.Equal(1, after.Stats(0, 0, 0).CancelledSubscriptions);
    }

    [Fact]
    public void A_journal_without_the_events_before_the_live_position_cancels_the_replay()
    {
        var (table, _) = Open(SubscriptionTable.At(new EventOffset(10)), after: 4);
        var (after, effects) = table.Update("1", s => s.OnPage(Page(5, 4, []), pageSize: 4));
        Assert.Contains("no events after offset 4", Assert.Single(effects.OfType<HubEffect.Cancel>()).Reason);
        Assert.Empty(after.ById);
    }

    [Fact]
    public void A_failed_read_is_retried_and_after_too_many_failures_the_subscription_ends()
    {
        var (table, _) = Open(SubscriptionTable.At(new EventOffset(10)), after: 4);
        var error = new IOException("database gone");
        var (once, first) = table.Update("1", s => s.OnReadFailed(5, error, maxAttempts: 2));
        Assert.IsType<HubEffect.RetryRead>(Assert.Single(first));
        var (_, retry) = once.Update("1", s => s.OnRetry());
        Assert.Equal([5L], Reads(retry));

        var (gone, second) = once.Update("1", s => s.OnReadFailed(5, error, maxAttempts: 2));
        Assert.Contains("database gone", Assert.Single(second.OfType<HubEffect.Cancel>()).Reason);
        Assert.Empty(gone.ById);
    }

    [Fact]
    public void Subscribing_from_a_later_offset_passes_over_live_events_up_to_it_and_filters_apply()
    {
        var (table, opened) = Open(SubscriptionTable.At(new EventOffset(5)), after: 8, "topic==/tasks/exit");
        Assert.Empty(opened);
        var effects = new List<HubEffect>();
        foreach (var e in new[] { Ev(6, Topics.Exit), Ev(8, Topics.Exit), Ev(9, Topics.Oom), Ev(10, Topics.Exit) })
        {
            var (next, fx) = table.Route(e, 0);
            table = next;
            effects.AddRange(fx);
        }
        Assert.Equal([10L], Delivered(effects));
        Assert.Equal(new EventOffset(10), table.Live);
    }

    [Fact]
    public void After_a_writer_restart_a_live_subscription_reads_back_what_was_written_but_never_handed_over_then_goes_on_live()
    {
        var (table, _) = Open(SubscriptionTable.At(new EventOffset(10)), after: null);

        // The new writer recovered 13: 11..13 were written, never handed over. Live events after 13 wait for them.
        var (resumed, effects) = table.Resume(new EventOffset(13));
        Assert.Equal([11L], Reads(effects));
        var (kept, live) = RouteAll(resumed, 14, 14);
        Assert.Empty(live);

        var (_, page) = kept.Update("1", s => s.OnPage(Page(11, 13, Evs(11, 13)), pageSize: 8));
        Assert.Equal([11L, 12, 13, 14], Delivered(page));
    }

    [Fact]
    public void After_a_writer_restart_a_replaying_subscription_replays_on_to_the_new_position_and_nothing_comes_twice()
    {
        var (table, _) = Open(SubscriptionTable.At(new EventOffset(10)), after: 4);
        var (kept, _) = RouteAll(table, 11, 12); // kept behind the replay

        var (resumed, effects) = kept.Resume(new EventOffset(14));
        Assert.Empty(Reads(effects)); // its read is under way already
        var (_, page) = resumed.Update("1", s => s.OnPage(Page(5, 14, Evs(5, 14)), pageSize: 16));
        Assert.Equal(Enumerable.Range(5, 10).Select(o => (long)o), Delivered(page));
    }

    [Fact]
    public void A_writer_resuming_where_the_hub_already_is_changes_nothing()
    {
        var (table, _) = Open(SubscriptionTable.At(new EventOffset(10)), after: null);
        var (same, effects) = table.Resume(new EventOffset(10));
        Assert.Empty(effects);
        Assert.Same(table, same);
    }
}
