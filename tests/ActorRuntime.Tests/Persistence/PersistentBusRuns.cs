using System.Diagnostics;
using ActorRuntime.Events;
using ActorRuntime.Store;
using Akka.Actor;
using static ActorRuntime.Events.EventBusProtocol;
using static ActorRuntime.Tests.Persistence.PersistentBusHarness;

namespace ActorRuntime.Tests.Persistence;

/// <summary>
/// The runs behind <see cref="EventBusPersistenceSpec"/>: each drives the bus on a given store across ActorSystem restarts
/// and returns what happened — every Published answer, the offsets, the events each subscriber received in arrival order
/// (never de-duplicated). They assert nothing; the spec does.
/// </summary>
internal static class PersistentBusRuns
{
    /// <param name="Run1">The answers to run 1's create, start, exit, delete of c0..c4 (pids 100..104), in publish order.</param>
    /// <param name="Run1Repeat">The answer to c0's exit published a second time within run 1.</param>
    /// <param name="Run2Republished">Run 2's exit, 255-exit, delete and 255-delete of c0..c4 again, each with its answer.</param>
    /// <param name="Fresh">The answer to run 2's exit of a new container ("new", pid 900, status 3).</param>
    /// <param name="Live">What a subscriber from run 1's last offset, subscribed before run 2 published, received.</param>
    public sealed record RepublishRun(
        IReadOnlyList<Published> Run1,
        Published Run1Repeat,
        IReadOnlyList<(TaskEvent Sent, Published Answer)> Run2Republished,
        Published Fresh,
        IReadOnlyList<TaskEvent> Live);

    /// <summary>
    /// Run 1 publishes create/start/exit/delete for 5 containers and c0's exit once more; run 2 (same database, new
    /// ActorSystem) subscribes from run 1's last offset, then publishes the same exits and deletes again (the shim's
    /// re-send, dead-shim cleanup's 255s), then a new container's exit.
    /// </summary>
    public static async Task<RepublishRun> RepublishExitsAfterARestartAsync(PersistenceSettings settings, int snapshotEvery)
    {
        var run1Answers = new List<Published>();
        Published repeat;
        await using (var run1 = Start(settings, "run1", snapshotEvery))
        {
            for (var i = 0; i < 5; i++)
            {
                var (c, pid) = ($"c{i}", 100u + (uint)i);
                foreach (var e in new[] { Ev(Topics.Create, c, pid), Ev(Topics.Start, c, pid), Ev(Topics.Exit, c, pid, 0), Ev(Topics.Delete, c, pid, 0) })
                    run1Answers.Add(await run1.PublishAsync(e));
            }
            repeat = await run1.PublishAsync(Ev(Topics.Exit, "c0", 100, 0));
        }

        await using var run2 = Start(settings, "run2", snapshotEvery);
        var live = await run2.SubscribeFromAsync(run1Answers[^1].Event.Offset);
        var republished = new List<(TaskEvent, Published)>();
        for (var i = 0; i < 5; i++)
        {
            var (c, pid) = ($"c{i}", 100u + (uint)i);
            foreach (var e in new[] { Ev(Topics.Exit, c, pid, 0), Ev(Topics.Exit, c, 0, 255), Ev(Topics.Delete, c, pid, 0), Ev(Topics.Delete, c, 0, 255) })
                republished.Add((e, await run2.PublishAsync(e)));
        }
        var fresh = await run2.PublishAsync(Ev(Topics.Exit, "new", 900, 3));
        return new RepublishRun(run1Answers, repeat, republished, fresh, await ReceivedAsync(live, 1));
    }

    /// <param name="Run1">The events run 1 delivered, old1..old{n}, in publish order.</param>
    /// <param name="After">The offset run 2's first subscriber subscribed from.</param>
    /// <param name="Resumed">What that subscriber received.</param>
    /// <param name="Filtered">What a second subscriber, from offset 0 with the filter, received.</param>
    public sealed record ResumeRun(IReadOnlyList<TaskEvent> Run1, long After, IReadOnlyList<TaskEvent> Resumed, IReadOnlyList<TaskEvent> Filtered);

    /// <summary>
    /// Run 1 publishes OOM events old1..old{<paramref name="run1Count"/>}. Run 2 subscribes from the offset of
    /// old{<paramref name="resumeAfter"/>} (and a second subscriber from 0 with <paramref name="filter"/>, which should get
    /// <paramref name="filteredCount"/> events) while another
    /// thread publishes new1..new{<paramref name="newCount"/>}, so the subscriptions switch from replay to live under it.
    /// </summary>
    public static async Task<ResumeRun> ResumeAfterARestartAsync(PersistenceSettings settings, int snapshotEvery,
        int run1Count, int resumeAfter, int newCount, string filter, int filteredCount)
    {
        var run1Events = new List<TaskEvent>();
        await using (var run1 = Start(settings, "run1", snapshotEvery))
        {
            for (var i = 1; i <= run1Count; i++)
                run1Events.Add((await run1.PublishAsync(Ev(Topics.Oom, $"old{i}"))).Event);
        }
        var after = run1Events[resumeAfter - 1].Offset;

        await using var run2 = Start(settings, "run2", snapshotEvery);
        var publishing = Task.Run(async () =>
        {
            for (var i = 1; i <= newCount; i++)
            {
                run2.Bus.Tell(new Publish(Ev(Topics.Oom, $"new{i}")));
                if (i % 4 == 0) await Task.Delay(5);
            }
        });
        var reader = await run2.SubscribeFromAsync(after);
        var filtered = await run2.SubscribeFromAsync(0, filter);
        await publishing;

        var resumed = await ReceivedAsync(reader, run1Count - resumeAfter + newCount);
        var filteredEvents = await ReceivedAsync(filtered, filteredCount, TimeSpan.FromMilliseconds(200));
        return new ResumeRun(run1Events, after, resumed, filteredEvents);
    }

    /// <param name="OffsetBeforeFirst">The offset just before c1's: c{i} should have this plus i.</param>
    /// <param name="Acked">Every fifth publish (i = 5, 10, …), which waited for its answer, with the offset answered.</param>
    /// <param name="Received">What the slow subscriber received.</param>
    /// <param name="Elapsed">From subscribing until the expected number of events had been received.</param>
    public sealed record SwitchRun(long OffsetBeforeFirst, IReadOnlyList<(int Index, long Offset)> Acked,
        IReadOnlyList<TaskEvent> Received, TimeSpan Elapsed);

    /// <summary>
    /// The switch from replay to live under load: OOM events c1..c{<paramref name="before"/>} are written, then a slow
    /// subscriber (4 in flight, each ack 2 ms late) subscribes from c{<paramref name="skipped"/>}'s offset and acks nothing
    /// until half of the remaining events up to c{<paramref name="total"/>} are published, so its replay is held up by
    /// back-pressure while live events pile up behind it; then it acks, slowly, while the rest is published. Every fifth
    /// publish waits for its answer.
    /// </summary>
    public static async Task<SwitchRun> SlowSubscriberAcrossTheSwitchAsync(PersistenceSettings settings, int before, int skipped, int total)
    {
        await using var run = Start(settings, "switch", maxInFlightPerSubscriber: 4);
        var acked = new List<(int Index, long Offset)>();
        async Task Publish(int i)
        {
            var e = Ev(Topics.Oom, $"c{i}");
            if (i % 5 == 0) acked.Add((i, (await run.PublishAsync(e)).Event.Offset));
            else run.Bus.Tell(new Publish(e));
        }

        for (var i = 1; i <= before; i++) await Publish(i);
        var offsetBeforeFirst = acked[0].Offset - acked[0].Index; // this run's first event has the next offset

        var started = Stopwatch.StartNew();
        var (reader, openGate) = await run.SubscribeSlowlyFromAsync(offsetBeforeFirst + skipped, TimeSpan.FromMilliseconds(2));
        var publishing = Task.Run(async () =>
        {
            for (var i = before + 1; i <= total; i++)
            {
                await Publish(i);
                if (i == before + (total - before) / 2) openGate();
            }
        });

        var received = await ReadUpToAsync(reader, total - skipped);
        await publishing;
        var elapsed = started.Elapsed;
        await AndWhateverElseAsync(reader, received);
        return new SwitchRun(offsetBeforeFirst, acked, received, elapsed);
    }
}
