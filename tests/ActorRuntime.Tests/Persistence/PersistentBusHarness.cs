using System.Diagnostics;
using System.Threading.Channels;
using ActorRuntime.Events;
using ActorRuntime.Store;
using Akka.Actor;
using Akka.Configuration;
using static ActorRuntime.Events.EventBusProtocol;

namespace ActorRuntime.Tests.Persistence;

/// <summary>
/// One "run" of the runtime's event bus on a real database: its own ActorSystem configured exactly as
/// WithActorRuntime configures persistence (ActorRuntimePersistence.ToConfig), terminated on dispose.
/// </summary>
internal sealed class PersistentBusHarness : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private PersistentBusHarness(ActorSystem system, IActorRef bus)
    {
        System = system;
        Bus = bus;
    }

    public ActorSystem System { get; }

    public IActorRef Bus { get; }

    public static PersistentBusHarness Start(PersistenceSettings settings, string name, int snapshotEvery = 500,
        int maxInFlightPerSubscriber = 64)
    {
        settings.EnsureStorage();
        var config = ConfigurationFactory.ParseString("""
                akka.loglevel = INFO
                akka.stdout-loglevel = INFO
                """)
            .WithFallback(ActorRuntimePersistence.ToConfig(settings));
        var system = ActorSystem.Create(name, config);
        var busSettings = EventBusSettings.Create(config) with
        {
            SnapshotEvery = snapshotEvery,
            ReplayPageSize = 7,
            MaxInFlightPerSubscriber = maxInFlightPerSubscriber,
        };
        return new PersistentBusHarness(system, system.ActorOf(EventBus.Props(busSettings), "event-bus"));
    }

    public Task<Published> PublishAsync(TaskEvent e) => Bus.Ask<Published>(new Publish(e, WantAck: true), Timeout);

    /// <summary>An actor subscriber that acks everything and hands events to a channel (in the order received).</summary>
    public async Task<ChannelReader<TaskEvent>> SubscribeFromAsync(long afterOffset, params string[] filters)
    {
        var channel = Channel.CreateUnbounded<TaskEvent>();
        var subscriber = System.ActorOf(Props.Create(() => new ChannelSubscriber(channel.Writer)));
        await Bus.Ask<Subscribed>(new SubscribeFrom(afterOffset, filters, subscriber), Timeout);
        return channel.Reader;
    }

    /// <summary>
    /// An actor subscriber that records every event it receives (in that order) and acks each one <paramref name="ackDelay"/>
    /// after it arrived — but none at all until the returned gate is opened, so a replay can be held up on purpose.
    /// </summary>
    public async Task<(ChannelReader<TaskEvent> Received, Action OpenGate)> SubscribeSlowlyFromAsync(long afterOffset, TimeSpan ackDelay)
    {
        var channel = Channel.CreateUnbounded<TaskEvent>();
        var subscriber = System.ActorOf(Props.Create(() => new SlowSubscriber(channel.Writer, ackDelay)));
        await Bus.Ask<Subscribed>(new SubscribeFrom(afterOffset, [], subscriber), Timeout);
        return (channel.Reader, () => subscriber.Tell(SlowSubscriber.Open.Instance));
    }

    /// <summary>Reads <paramref name="count"/> events; fails when none arrives for <see cref="Timeout"/> (a bound on silence, not on the total).</summary>
    public static async Task<List<TaskEvent>> TakeAsync(ChannelReader<TaskEvent> reader, int count)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var list = new List<TaskEvent>(count);
        try
        {
            while (list.Count < count)
            {
                list.Add(await reader.ReadAsync(cts.Token));
                cts.CancelAfter(Timeout);
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"received {list.Count} of {count} events, then nothing for {Timeout}: offsets {string.Join(",", list.Select(e => e.Offset))}");
        }
        return list;
    }

    /// <summary>Asserts nothing more arrives for a while.</summary>
    public static async Task ExpectNothingMoreAsync(ChannelReader<TaskEvent> reader, TimeSpan? wait = null)
    {
        await Task.Delay(wait ?? TimeSpan.FromMilliseconds(600));
        if (reader.TryRead(out var extra))
            Assert.Fail($"unexpected extra event {extra.Topic} {extra.ContainerId} at offset {extra.Offset}");
    }

    public async ValueTask DisposeAsync() => await System.Terminate().WaitAsync(Timeout);

    private sealed class SlowSubscriber : ReceiveActor
    {
        private readonly List<(IActorRef Pump, long Offset)> _held = [];
        private bool _open;

        public SlowSubscriber(ChannelWriter<TaskEvent> writer, TimeSpan ackDelay)
        {
            Receive<TaskEvent>(e =>
            {
                writer.TryWrite(e);
                if (_open) AckLater(Sender, e.Offset, ackDelay);
                else _held.Add((Sender, e.Offset));
            });
            Receive<Open>(_ =>
            {
                _open = true;
                foreach (var (pump, offset) in _held) AckLater(pump, offset, ackDelay);
                _held.Clear();
            });
        }

        private void AckLater(IActorRef pump, long offset, TimeSpan delay) =>
            Context.System.Scheduler.ScheduleTellOnce(delay, pump, new Ack(offset), Self);

        public sealed record Open
        {
            public static readonly Open Instance = new();
        }
    }

    private sealed class ChannelSubscriber : ReceiveActor
    {
        public ChannelSubscriber(ChannelWriter<TaskEvent> writer)
        {
            Receive<TaskEvent>(e =>
            {
                Sender.Tell(new Ack(e.Offset));
                writer.TryWrite(e);
            });
        }
    }
}

/// <summary>The restart / resume scenarios, run against SQLite and PostgreSQL.</summary>
internal static class PersistenceScenarios
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public static TaskEvent Ev(string topic, string container, uint pid = 0, uint status = 0) =>
        new("moby", topic, container, "", pid, status, topic is Topics.Exit or Topics.Delete ? T0 : null, T0);

    /// <summary>
    /// Run 1 delivers create/start/exit/delete for 5 containers; run 2 (same database, new ActorSystem) gets the same
    /// exits and deletes again (the shim's re-send, dead-shim cleanup's 255s) and drops every one as a duplicate, while a
    /// new container's events are delivered with offsets above run 1's.
    /// </summary>
    public static async Task Republished_exits_are_dropped_after_a_restart(PersistenceSettings settings, int snapshotEvery)
    {
        long lastOffsetRun1;
        await using (var run1 = PersistentBusHarness.Start(settings, "run1", snapshotEvery))
        {
            var offsets = new List<long>();
            for (var i = 0; i < 5; i++)
            {
                var c = $"c{i}";
                var pid = 100u + (uint)i;
                foreach (var e in new[] { Ev(Topics.Create, c, pid), Ev(Topics.Start, c, pid), Ev(Topics.Exit, c, pid, 0), Ev(Topics.Delete, c, pid, 0) })
                {
                    var p = await run1.PublishAsync(e);
                    Assert.Equal(PublishOutcome.Delivered, p.Outcome);
                    offsets.Add(p.Event.Offset);
                }
            }
            Assert.Equal(offsets.Order(), offsets);
            Assert.Equal(offsets.Count, offsets.Distinct().Count());
            lastOffsetRun1 = offsets[^1];
            // A duplicate within the run, for contrast.
            Assert.Equal(PublishOutcome.DroppedDuplicate, (await run1.PublishAsync(Ev(Topics.Exit, "c0", 100, 0))).Outcome);
        }

        await using var run2 = PersistentBusHarness.Start(settings, "run2", snapshotEvery);
        var live = await run2.SubscribeFromAsync(lastOffsetRun1);
        for (var i = 0; i < 5; i++)
        {
            var c = $"c{i}";
            var pid = 100u + (uint)i;
            foreach (var e in new[] { Ev(Topics.Exit, c, pid, 0), Ev(Topics.Exit, c, 0, 255), Ev(Topics.Delete, c, pid, 0), Ev(Topics.Delete, c, 0, 255) })
            {
                var p = await run2.PublishAsync(e);
                Assert.True(p.Outcome == PublishOutcome.DroppedDuplicate, $"{e.Topic} {c} pid {e.Pid} after restart: {p.Outcome}");
            }
        }

        var fresh = await run2.PublishAsync(Ev(Topics.Exit, "new", 900, 3));
        Assert.Equal(PublishOutcome.Delivered, fresh.Outcome);
        Assert.True(fresh.Event.Offset > lastOffsetRun1, $"offset {fresh.Event.Offset} after restart is not above {lastOffsetRun1}");

        var received = await PersistentBusHarness.TakeAsync(live, 1);
        Assert.Equal(("new", fresh.Event.Offset), (received[0].ContainerId, received[0].Offset));
        await PersistentBusHarness.ExpectNothingMoreAsync(live);
    }

    /// <summary>
    /// Run 1 delivers 20 events. Run 2 subscribes from the 10th event's offset while another thread publishes 40 new
    /// events during the switch-over: the subscriber gets run 1's events 11..20, then all 40 new ones, in publish order,
    /// offsets strictly increasing, none twice, none missing. A second subscriber from 0 with a filter gets its subset.
    /// </summary>
    public static async Task A_subscriber_resumes_after_a_restart_without_gap_or_duplicate(PersistenceSettings settings, int snapshotEvery)
    {
        var run1Events = new List<TaskEvent>();
        await using (var run1 = PersistentBusHarness.Start(settings, "run1", snapshotEvery))
        {
            for (var i = 1; i <= 20; i++)
                run1Events.Add((await run1.PublishAsync(Ev(Topics.Oom, $"old{i}"))).Event);
        }
        var after = run1Events[9].Offset;

        await using var run2 = PersistentBusHarness.Start(settings, "run2", snapshotEvery);
        const int newCount = 40;
        var publishing = Task.Run(async () =>
        {
            for (var i = 1; i <= newCount; i++)
            {
                run2.Bus.Tell(new Publish(Ev(Topics.Oom, $"new{i}")));
                if (i % 4 == 0) await Task.Delay(5);
            }
        });
        var reader = await run2.SubscribeFromAsync(after);
        var filtered = await run2.SubscribeFromAsync(0, "event.container_id~=\"^old1\"");
        await publishing;

        var received = await PersistentBusHarness.TakeAsync(reader, 10 + newCount);
        await PersistentBusHarness.ExpectNothingMoreAsync(reader);

        var expected = run1Events.Skip(10).Select(e => e.ContainerId)
            .Concat(Enumerable.Range(1, newCount).Select(i => $"new{i}"));
        Assert.Equal(expected, received.Select(e => e.ContainerId));
        Assert.Equal(run1Events.Skip(10).Select(e => e.Offset), received.Take(10).Select(e => e.Offset));
        for (var i = 1; i < received.Count; i++)
            Assert.True(received[i].Offset > received[i - 1].Offset, $"offset {received[i].Offset} after {received[i - 1].Offset}");
        Assert.True(received[0].Offset > after);

        // old1, old10..old19 in run 1's order, each once.
        var filteredEvents = await PersistentBusHarness.TakeAsync(filtered, 11);
        await PersistentBusHarness.ExpectNothingMoreAsync(filtered, TimeSpan.FromMilliseconds(200));
        Assert.Equal(run1Events.Where(e => e.ContainerId.StartsWith("old1", StringComparison.Ordinal)).Select(e => (e.ContainerId, e.Offset)),
            filteredEvents.Select(e => (e.ContainerId, e.Offset)));
    }

    /// <summary>
    /// The switch from replay to live under load (numbers for the default <paramref name="total"/> of 1,000): 300 events
    /// are written, then a slow subscriber (4 in flight, each ack some milliseconds late) subscribes from the 100th and
    /// acks nothing until 350 of 700 more events are published, so its replay of the 101st..300th is held up by
    /// back-pressure while live events pile up behind it; then it acks, slowly, while the rest is published. It must
    /// receive the 101st..1000th, each exactly once, in order — counted as received. Every fifth publish waits for its
    /// ack, which also shows the offsets are consecutive in publish order.
    /// </summary>
    public static async Task A_slow_subscriber_switches_from_replay_to_live_without_gap_or_duplicate(
        PersistenceSettings settings, Action<string> log, int total = 1000)
    {
        int before = total * 3 / 10, skipped = total / 10;
        await using var run = PersistentBusHarness.Start(settings, "switch", maxInFlightPerSubscriber: 4);
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
        var (received, openGate) = await run.SubscribeSlowlyFromAsync(offsetBeforeFirst + skipped, TimeSpan.FromMilliseconds(2));
        var publishing = Task.Run(async () =>
        {
            for (var i = before + 1; i <= total; i++)
            {
                await Publish(i);
                if (i == before + (total - before) / 2) openGate();
            }
        });

        var events = await PersistentBusHarness.TakeAsync(received, total - skipped);
        await publishing;
        log($"{events.Count} events received in {started.ElapsedMilliseconds} ms ({before - skipped} replayed, then live)");
        await PersistentBusHarness.ExpectNothingMoreAsync(received);

        Assert.All(acked, a => Assert.Equal(offsetBeforeFirst + a.Index, a.Offset));
        var expected = Enumerable.Range(skipped + 1, total - skipped).Select(i => (offsetBeforeFirst + i, $"c{i}"));
        Assert.Equal(expected, events.Select(e => (e.Offset, e.ContainerId)));
    }
}
