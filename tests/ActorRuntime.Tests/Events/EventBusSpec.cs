using System.Collections.Concurrent;
using ActorRuntime.Events;
using ActorRuntime.Protocol.Ttrpc;
using Akka.Actor;
using Akka.Configuration;
using Xunit.Abstractions;
using static ActorRuntime.Events.EventBusProtocol;

namespace ActorRuntime.Tests.Events;

public sealed class EventBusSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("""
    akka.loglevel = INFO
    akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
    akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
    """, output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    #region Protocol

    /// <summary>Acks every event at once and forwards it to a probe.</summary>
    private sealed class AckingSubscriber : ReceiveActor
    {
        public AckingSubscriber(IActorRef target)
        {
            Receive<TaskEvent>(e =>
            {
                Sender.Tell(new Ack(e.Offset));
                target.Tell(e);
            });
            Receive<SubscriptionCancelled>(c => target.Tell(c));
        }

        public static Props Props(IActorRef target) => Akka.Actor.Props.Create(() => new AckingSubscriber(target));
    }

    #endregion

    private static TaskEvent Ev(string topic, string container, string exec = "", uint pid = 0, uint status = 0, string ns = "moby") =>
        new(ns, topic, container, exec, pid, status, topic is Topics.Exit or Topics.Delete ? T0 : null, T0);

    /// <summary>The bus is persistent: each test bus gets its own persistence id in the in-memory journal.</summary>
    private IActorRef NewBus(EventBusSettings? settings = null) =>
        Sys.ActorOf(EventBus.Props((settings ?? EventBusSettings.Default) with { PersistenceId = $"event-bus-{Guid.NewGuid():N}" }));

    private static async Task<string> SubscribeAsync(IActorRef bus, IActorRef subscriber, params string[] filters) =>
        (await bus.Ask<Subscribed>(new Subscribe(filters, subscriber), Timeout)).SubscriptionId;

    private static Task<EventBusStats> StatsAsync(IActorRef bus) => bus.Ask<EventBusStats>(GetStats.Instance, Timeout);

    [Fact]
    public async Task Exit_and_delete_are_republished_exactly_once_while_several_threads_hammer_duplicates()
    {
        const int containers = 50;
        const int publishers = 4;
        var bus = NewBus();
        var probe = CreateTestProbe();
        await SubscribeAsync(bus, Sys.ActorOf(AckingSubscriber.Props(probe)));

        for (var i = 0; i < containers; i++)
        {
            var c = $"c{i}";
            bus.Tell(new Publish(Ev(Topics.Create, c, pid: 1000u + (uint)i)));
            bus.Tell(new Publish(Ev(Topics.Start, c, pid: 1000u + (uint)i)));
            bus.Tell(new Publish(Ev(Topics.ExecAdded, c, exec: "e1")));
            bus.Tell(new Publish(Ev(Topics.ExecStarted, c, exec: "e1", pid: 5000u + (uint)i)));
        }

        // Every publisher sends the shim's exits, its re-sends and dead-shim cleanup's synthetic exit/delete, each in its own order.
        var hammers = Enumerable.Range(0, publishers).Select(t => Task.Run(() =>
        {
            var rnd = new Random(t);
            var batch = new List<TaskEvent>();
            for (var i = 0; i < containers; i++)
            {
                var c = $"c{i}";
                var pid = 1000u + (uint)i;
                batch.Add(Ev(Topics.Exit, c, pid: pid, status: 0));
                batch.Add(Ev(Topics.Exit, c, pid: pid, status: 0));
                batch.Add(Ev(Topics.Exit, c, pid: 0, status: 255));
                batch.Add(Ev(Topics.Delete, c, pid: pid, status: 0));
                batch.Add(Ev(Topics.Delete, c, pid: 0, status: 255));
                batch.Add(Ev(Topics.Exit, c, exec: "e1", pid: 5000u + (uint)i, status: 1));
                batch.Add(Ev(Topics.Exit, c, exec: "e1", pid: 5000u + (uint)i, status: 1));
            }
            foreach (var e in batch.OrderBy(_ => rnd.Next()))
                bus.Tell(new Publish(e));
        })).ToArray();
        await Task.WhenAll(hammers);

        const int expected = containers * 7; // create, start, exec-added, exec-started, exit, delete, exec exit
        var received = new List<TaskEvent>(expected);
        for (var n = 0; n < expected; n++)
            received.Add(await probe.ExpectMsgAsync<TaskEvent>(Timeout));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));

        Assert.Equal(Enumerable.Range(1, expected).Select(i => (long)i), received.Select(e => e.Offset));
        for (var i = 0; i < containers; i++)
        {
            var c = $"c{i}";
            Assert.Single(received, e => e is { Topic: Topics.Exit, ExecId: "" } && e.ContainerId == c);
            Assert.Single(received, e => e is { Topic: Topics.Delete } && e.ContainerId == c);
            Assert.Single(received, e => e is { Topic: Topics.Exit, ExecId: "e1", ExitStatus: 1 } && e.ContainerId == c);
        }

        var stats = await StatsAsync(bus);
        Assert.Equal(publishers * containers * 7 - containers * 3, stats.DroppedDuplicates);
        Assert.Equal(0, stats.DroppedStale);
        Assert.Equal(expected, stats.LastOffset);
    }

    [Fact]
    public async Task A_subscriber_that_never_acks_does_not_delay_a_fast_one_and_its_lag_is_reported()
    {
        var bus = NewBus(new EventBusSettings { MaxInFlightPerSubscriber = 4 });
        var slow = CreateTestProbe("slow");
        var fast = CreateTestProbe("fast");
        var slowId = await SubscribeAsync(bus, slow);
        var fastId = await SubscribeAsync(bus, Sys.ActorOf(AckingSubscriber.Props(fast)));

        for (var i = 1; i <= 20; i++)
            bus.Tell(new Publish(Ev(Topics.Oom, $"c{i}")));

        for (var i = 1; i <= 20; i++)
            Assert.Equal(i, (await fast.ExpectMsgAsync<TaskEvent>(Timeout)).Offset);
        for (var i = 1; i <= 4; i++)
            Assert.Equal(i, (await slow.ExpectMsgAsync<TaskEvent>(Timeout)).Offset);
        var pump = slow.LastSender; // events come from the subscription's pump; acks go back to it
        await slow.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));

        await AwaitAssertAsync(async () =>
        {
            var stats = await StatsAsync(bus);
            var s = stats[slowId]!;
            Assert.Equal((20L, 4L, 0L, 20L, 16L, 4L, 4L, 0L),
                (s.Enqueued, s.Handed, s.Completed, s.Pending, s.Queued, s.InFlight, s.LastHandedOffset, s.LastCompletedOffset));
            var f = stats[fastId]!;
            Assert.Equal((20L, 0L, 20L), (f.Enqueued, f.Pending, f.LastCompletedOffset));
        }, Timeout);

        // A cumulative ack for offset 2 opens the window by two: offsets 5 and 6 follow, in order.
        pump.Tell(new Ack(2), slow.Ref);
        Assert.Equal(5, (await slow.ExpectMsgAsync<TaskEvent>(Timeout)).Offset);
        Assert.Equal(6, (await slow.ExpectMsgAsync<TaskEvent>(Timeout)).Offset);
        await slow.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        await AwaitAssertAsync(async () =>
        {
            var s = (await StatsAsync(bus))[slowId]!;
            Assert.Equal((2L, 18L, 2L, 6L), (s.Completed, s.Pending, s.LastCompletedOffset, s.LastHandedOffset));
        }, Timeout);
    }

    [Fact]
    public async Task Backend_callbacks_run_in_order_per_container_and_a_slow_container_does_not_hold_up_the_others()
    {
        var bus = NewBus();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var completions = new ConcurrentQueue<TaskEvent>();
        var running = new ConcurrentDictionary<string, int>();
        var overlaps = 0;

        async Task Callback(TaskEvent e)
        {
            if (running.AddOrUpdate(e.ContainerId, 1, (_, n) => n + 1) > 1)
                Interlocked.Increment(ref overlaps);
            try
            {
                if (e.ContainerId == "slow") await gate.Task;
                else await Task.Delay(1);
                completions.Enqueue(e);
            }
            finally
            {
                running.AddOrUpdate(e.ContainerId, 0, (_, n) => n - 1);
            }
        }

        var id = (await bus.Ask<Subscribed>(new SubscribeBackend([], Callback), Timeout)).SubscriptionId;
        string[] containers = ["slow", .. Enumerable.Range(1, 9).Select(i => $"c{i}")];
        string[] topics = [Topics.Create, Topics.Start, Topics.Oom, Topics.Paused, Topics.Resumed];
        foreach (var topic in topics)
        {
            foreach (var c in containers)
                bus.Tell(new Publish(Ev(topic, c, pid: 77)));
        }

        // All 45 events of the nine other containers complete while "slow" is stuck in its first callback.
        await AwaitConditionAsync(() => Task.FromResult(completions.Count == 45), Timeout);
        Assert.DoesNotContain(completions, e => e.ContainerId == "slow");
        await AwaitAssertAsync(async () =>
        {
            var s = (await StatsAsync(bus))[id]!;
            Assert.Equal((50L, 46L, 45L, 5L, 1L, 4L, 1), (s.Enqueued, s.Handed, s.Completed, s.Pending, s.InFlight, s.Queued, s.ActiveContainers));
        }, Timeout);

        gate.SetResult();
        await AwaitConditionAsync(() => Task.FromResult(completions.Count == 50), Timeout);

        var done = completions.ToList();
        Assert.Equal(0, overlaps);
        Assert.All(done.Take(45), e => Assert.NotEqual("slow", e.ContainerId));
        foreach (var c in containers)
        {
            var mine = done.Where(e => e.ContainerId == c).ToList();
            Assert.Equal(topics, mine.Select(e => e.Topic));
            Assert.Equal(mine.Select(e => e.Offset).Order(), mine.Select(e => e.Offset));
        }
        await AwaitAssertAsync(async () =>
        {
            var s = (await StatsAsync(bus))[id]!;
            Assert.Equal((0L, 0, 50L, 0L), (s.Pending, s.ActiveContainers, s.LastCompletedOffset, s.Failures));
        }, Timeout);
    }

    [Fact]
    public async Task A_failing_backend_callback_is_counted_and_its_container_moves_on_in_order()
    {
        var bus = NewBus();
        var seen = new ConcurrentQueue<long>();
        var id = (await bus.Ask<Subscribed>(new SubscribeBackend([], e =>
        {
            seen.Enqueue(e.Offset);
            if (e.Offset == 2) throw new InvalidOperationException("handler bug");
            return e.Offset == 3 ? Task.FromException(new IOException("faulted")) : Task.CompletedTask;
        }), Timeout)).SubscriptionId;

        bus.Tell(new Publish(Ev(Topics.Create, "c1", pid: 1)));
        bus.Tell(new Publish(Ev(Topics.Start, "c1", pid: 1)));
        bus.Tell(new Publish(Ev(Topics.Oom, "c1")));
        bus.Tell(new Publish(Ev(Topics.Exit, "c1", pid: 1)));

        await AwaitAssertAsync(async () =>
        {
            var s = (await StatsAsync(bus))[id]!;
            Assert.Equal((4L, 2L, 0L), (s.Completed, s.Failures, s.Pending));
        }, Timeout);
        Assert.Equal([1L, 2, 3, 4], seen);
    }

    [Fact]
    public async Task Filters_in_containerd_syntax_select_what_each_subscriber_gets()
    {
        var bus = NewBus();
        var moby = CreateTestProbe();
        var execsOrDeletes = CreateTestProbe();
        await SubscribeAsync(bus, Sys.ActorOf(AckingSubscriber.Props(moby)), "namespace==moby,topic~=|^/tasks/|");
        await SubscribeAsync(bus, Sys.ActorOf(AckingSubscriber.Props(execsOrDeletes)), "event.exec_id", "topic==/tasks/delete");

        bus.Tell(new Publish(Ev(Topics.Exit, "c1", pid: 5)));                       // 1
        bus.Tell(new Publish(Ev(Topics.Exit, "c2", pid: 6, ns: "default")));        // 2
        bus.Tell(new Publish(Ev("/containers/update", "c1")));                       // 3
        bus.Tell(new Publish(Ev(Topics.ExecAdded, "c1", exec: "e1")));                // 4
        bus.Tell(new Publish(Ev(Topics.Delete, "c2", pid: 6, ns: "default")));      // 5

        Assert.Equal(1, (await moby.ExpectMsgAsync<TaskEvent>(Timeout)).Offset);
        Assert.Equal(4, (await moby.ExpectMsgAsync<TaskEvent>(Timeout)).Offset);
        Assert.Equal(4, (await execsOrDeletes.ExpectMsgAsync<TaskEvent>(Timeout)).Offset);
        Assert.Equal(5, (await execsOrDeletes.ExpectMsgAsync<TaskEvent>(Timeout)).Offset);
        await moby.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        await execsOrDeletes.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_bad_filter_fails_the_subscribe_with_invalid_argument()
    {
        var bus = NewBus();
        var ex = await Assert.ThrowsAsync<InvalidArgumentException>(
            () => bus.Ask<Subscribed>(new Subscribe(["namespace=moby"], TestActor), Timeout));
        Assert.Contains("position 9", ex.Message);
        Assert.Empty((await StatsAsync(bus)).Subscriptions);
    }

    [Fact]
    public async Task Unsubscribe_stops_delivery_and_removes_the_subscription()
    {
        var bus = NewBus();
        var probe = CreateTestProbe();
        var id = await SubscribeAsync(bus, Sys.ActorOf(AckingSubscriber.Props(probe)));
        bus.Tell(new Publish(Ev(Topics.Oom, "c1")));
        await probe.ExpectMsgAsync<TaskEvent>(Timeout);

        Assert.Equal(new Unsubscribed(id, true), await bus.Ask<Unsubscribed>(new Unsubscribe(id), Timeout));
        Assert.Equal(new Unsubscribed(id, false), await bus.Ask<Unsubscribed>(new Unsubscribe(id), Timeout));
        bus.Tell(new Publish(Ev(Topics.Oom, "c1")));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        Assert.Empty((await StatsAsync(bus)).Subscriptions);
    }

    [Fact]
    public async Task A_terminated_subscriber_loses_its_subscriptions()
    {
        var bus = NewBus();
        var probe = CreateTestProbe();
        var subscriber = Sys.ActorOf(AckingSubscriber.Props(probe));
        await SubscribeAsync(bus, subscriber, "topic==/tasks/exit");
        await SubscribeAsync(bus, subscriber, "topic==/tasks/oom");
        var keep = await SubscribeAsync(bus, CreateTestProbe());
        Assert.Equal(3, (await StatsAsync(bus)).Subscriptions.Count);

        await WatchAsync(subscriber);
        subscriber.Tell(PoisonPill.Instance);
        await ExpectTerminatedAsync(subscriber, Timeout);

        await AwaitAssertAsync(async () =>
            Assert.Equal([keep], (await StatsAsync(bus)).Subscriptions.Select(s => s.SubscriptionId)), Timeout);
    }

    [Fact]
    public async Task A_publisher_that_asks_for_it_learns_the_offset_or_why_the_event_was_dropped()
    {
        var bus = NewBus();
        var delivered = await bus.Ask<Published>(new Publish(Ev(Topics.Exit, "c1", pid: 9), WantAck: true), Timeout);
        Assert.Equal((PublishOutcome.Delivered, 1L), (delivered.Outcome, delivered.Event.Offset));

        var dup = await bus.Ask<Published>(new Publish(Ev(Topics.Exit, "c1", pid: 0, status: 255), WantAck: true), Timeout);
        Assert.Equal((PublishOutcome.DroppedDuplicate, 0L), (dup.Outcome, dup.Event.Offset));

        var stale = await bus.Ask<Published>(new Publish(Ev(Topics.Delete, "c1", pid: 8), WantAck: true), Timeout);
        Assert.Equal(PublishOutcome.DroppedStale, stale.Outcome);
        Assert.False(stale.Delivered);
    }

    [Fact]
    public async Task A_subscriber_that_falls_too_far_behind_is_cancelled_and_told()
    {
        var bus = NewBus(new EventBusSettings { MaxInFlightPerSubscriber = 1, MaxQueuedPerSubscriber = 3 });
        var probe = CreateTestProbe();
        var id = await SubscribeAsync(bus, probe);
        for (var i = 0; i < 6; i++)
            bus.Tell(new Publish(Ev(Topics.Oom, "c1")));

        Assert.Equal(1, (await probe.ExpectMsgAsync<TaskEvent>(Timeout)).Offset);
        var cancelled = await probe.ExpectMsgAsync<SubscriptionCancelled>(Timeout);
        Assert.Equal(id, cancelled.SubscriptionId);
        Assert.Contains("fell more than 3 events behind", cancelled.Reason);
        // Nothing acked: it resumes where it began.
        Assert.Equal(0, cancelled.ResumeAfter);
        await AwaitAssertAsync(async () =>
        {
            var stats = await StatsAsync(bus);
            Assert.Equal((0, 1L), (stats.Subscriptions.Count, stats.CancelledSubscriptions));
        }, Timeout);
    }

    [Fact]
    public async Task A_backend_that_falls_behind_while_replaying_is_told_why_and_where_to_resume_and_resumes_without_a_gap()
    {
        var bus = NewBus(new EventBusSettings { ReplayPageSize = 2, MaxQueuedPerSubscriber = 3 });
        for (var i = 0; i < 6; i++)
            await bus.Ask<Published>(new Publish(Ev(Topics.Oom, "c1"), WantAck: true), Timeout);
        var gate = new TaskCompletionSource();
        var first = new ConcurrentQueue<long>();
        var told = new TaskCompletionSource<SubscriptionCancelled>();
        var id = (await bus.Ask<Subscribed>(new SubscribeBackendFrom(0, [], async e =>
        {
            first.Enqueue(e.Offset);
            // Offset 2 is held: the replay stops once two pages are outstanding, and live events pile up behind it.
            if (e.Offset == 2) await gate.Task;
        }, c => told.TrySetResult(c)), Timeout)).SubscriptionId;
        await AwaitConditionAsync(() => Task.FromResult(first.Count == 2), Timeout);
        await AwaitAssertAsync(async () => Assert.Equal(1, (await StatsAsync(bus))[id]!.Completed), Timeout);

        for (var i = 0; i < 4; i++)
            await bus.Ask<Published>(new Publish(Ev(Topics.Oom, "c1"), WantAck: true), Timeout);

        var cancelled = await told.Task.WaitAsync(Timeout);
        Assert.Equal(id, cancelled.SubscriptionId);
        Assert.Equal("more than 3 live events arrived while replaying", cancelled.Reason);
        await AwaitAssertAsync(async () =>
        {
            var stats = await StatsAsync(bus);
            Assert.Equal((0, 1L), (stats.Subscriptions.Count, stats.CancelledSubscriptions));
        }, Timeout);
        // Offset 1 was finished when it was cancelled; 2 was in hand and comes again.
        Assert.Equal(1, cancelled.ResumeAfter);

        var second = new ConcurrentQueue<long>();
        await bus.Ask<Subscribed>(new SubscribeBackendFrom(cancelled.ResumeAfter, [], e =>
        {
            second.Enqueue(e.Offset);
            return Task.CompletedTask;
        }), Timeout);
        await AwaitConditionAsync(() => Task.FromResult(second.Count == 9), Timeout);
        gate.SetResult();
        await Task.Delay(200);
        Assert.Equal([1L, 2], first);
        Assert.Equal(Enumerable.Range(2, 9).Select(i => (long)i), second);
    }

    [Fact]
    public async Task When_the_subscription_side_fails_every_subscriber_is_told_why_and_where_to_resume()
    {
        var bus = NewBus();
        var probe = CreateTestProbe();
        var subscriber = Sys.ActorOf(AckingSubscriber.Props(probe));
        var actorId = await SubscribeAsync(bus, subscriber);
        var told = new TaskCompletionSource<SubscriptionCancelled>();
        var backendId = (await bus.Ask<Subscribed>(new SubscribeBackend([], _ => Task.CompletedTask, c => told.TrySetResult(c)),
            Timeout)).SubscriptionId;
        for (var i = 0; i < 2; i++)
            bus.Tell(new Publish(Ev(Topics.Oom, "c1")));
        await probe.ExpectMsgAsync<TaskEvent>(Timeout);
        await probe.ExpectMsgAsync<TaskEvent>(Timeout);
        await AwaitAssertAsync(async () =>
            Assert.All((await StatsAsync(bus)).Subscriptions, s => Assert.Equal(2, s.LastCompletedOffset)), Timeout);

        // A hub that throws (here on an event it cannot route) fails the bus, which restarts with a new, empty hub.
        Sys.ActorSelection(bus.Path / "subscriptions").Tell(new SubscriptionHub.Live(null!));

        var cancelled = await probe.ExpectMsgAsync<SubscriptionCancelled>(Timeout);
        Assert.Equal((actorId, 2L), (cancelled.SubscriptionId, cancelled.ResumeAfter));
        Assert.Contains("subscription side failed", cancelled.Reason);
        var backend = await told.Task.WaitAsync(Timeout);
        Assert.Equal((backendId, 2L, cancelled.Reason), (backend.SubscriptionId, backend.ResumeAfter, backend.Reason));

        // Resubscribed from there, it misses nothing the restarted bus delivers.
        await AwaitAssertAsync(async () => Assert.Empty((await StatsAsync(bus)).Subscriptions), Timeout);
        await bus.Ask<Subscribed>(new SubscribeFrom(cancelled.ResumeAfter, [], subscriber), Timeout);
        bus.Tell(new Publish(Ev(Topics.Oom, "c1")));
        Assert.Equal(3, (await probe.ExpectMsgAsync<TaskEvent>(Timeout)).Offset);
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task A_subscriber_from_an_earlier_offset_gets_the_journal_then_live_events_each_once_in_order()
    {
        var bus = NewBus(new EventBusSettings { ReplayPageSize = 3 });
        for (var i = 1; i <= 10; i++)
            await bus.Ask<Published>(new Publish(Ev(Topics.Oom, $"old{i}"), WantAck: true), Timeout);

        var probe = CreateTestProbe();
        var publishing = Task.Run(() =>
        {
            for (var i = 1; i <= 20; i++)
                bus.Tell(new Publish(Ev(Topics.Oom, $"new{i}")));
        });
        await bus.Ask<Subscribed>(new SubscribeFrom(4, [], Sys.ActorOf(AckingSubscriber.Props(probe))), Timeout);
        await publishing;

        var received = new List<TaskEvent>();
        for (var n = 0; n < 26; n++)
            received.Add(await probe.ExpectMsgAsync<TaskEvent>(Timeout));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));

        Assert.Equal(Enumerable.Range(5, 26).Select(i => (long)i), received.Select(e => e.Offset));
        Assert.Equal(
            Enumerable.Range(5, 6).Select(i => $"old{i}").Concat(Enumerable.Range(1, 20).Select(i => $"new{i}")),
            received.Select(e => e.ContainerId));
    }

    [Fact]
    public async Task Replay_passes_over_forgotten_runs_in_the_journal_and_a_filter_still_applies()
    {
        // Retention zero and a short prune interval: every finished run is forgotten (journaled) soon after its release.
        var bus = NewBus(new EventBusSettings
        {
            ReplayPageSize = 2,
            Retention = new RunRetention(TimeSpan.Zero),
            PruneInterval = TimeSpan.FromMilliseconds(50),
        });
        var offsets = new List<long>();
        for (var i = 1; i <= 4; i++)
        {
            offsets.Add((await bus.Ask<Published>(new Publish(Ev(Topics.Create, $"c{i}", pid: 10u + (uint)i), WantAck: true), Timeout)).Event.Offset);
            offsets.Add((await bus.Ask<Published>(new Publish(Ev(Topics.Delete, $"c{i}", pid: 10u + (uint)i), WantAck: true), Timeout)).Event.Offset);
            bus.Tell(new Release([new RunRelease(new RunKey("moby", $"c{i}", ""), 10u + (uint)i)]));
            await AwaitAssertAsync(async () => Assert.Equal(0, (await StatsAsync(bus)).TrackedRuns), Timeout);
        }
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (long)i), offsets);

        var all = CreateTestProbe();
        var deletes = CreateTestProbe();
        await bus.Ask<Subscribed>(new SubscribeFrom(0, [], Sys.ActorOf(AckingSubscriber.Props(all))), Timeout);
        await bus.Ask<Subscribed>(new SubscribeFrom(3, ["topic==/tasks/delete"], Sys.ActorOf(AckingSubscriber.Props(deletes))), Timeout);

        for (var i = 1; i <= 8; i++)
            Assert.Equal(i, (await all.ExpectMsgAsync<TaskEvent>(Timeout)).Offset);
        foreach (var offset in new long[] { 4, 6, 8 })
        {
            var e = await deletes.ExpectMsgAsync<TaskEvent>(Timeout);
            Assert.Equal((offset, Topics.Delete), (e.Offset, e.Topic));
        }
        await all.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        await deletes.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void Settings_come_from_hocon_with_the_shipped_defaults()
    {
        var defaults = EventBusSettings.Create(ConfigurationFactory.Empty);
        Assert.Equal((64, 65_536, (TimeSpan?)null, TimeSpan.FromMinutes(10)),
            (defaults.MaxInFlightPerSubscriber, defaults.MaxQueuedPerSubscriber, defaults.BackendCallbackTimeout,
                defaults.Retention.RetainFinishedRunsFor));

        var custom = EventBusSettings.Create(ConfigurationFactory.ParseString(
            "actor-runtime.event-bus { max-in-flight-per-subscriber = 8, backend-callback-timeout = 2s, retain-finished-runs-for = 1m }"));
        Assert.Equal((8, TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(1)),
            (custom.MaxInFlightPerSubscriber, custom.BackendCallbackTimeout, custom.Retention.RetainFinishedRunsFor));
    }

    [Fact]
    public async Task Resuming_after_an_offset_the_bus_never_gave_is_refused_rather_than_skipping_events()
    {
        var bus = NewBus();
        for (var i = 0; i < 3; i++)
            await bus.Ask<Published>(new Publish(Ev(Topics.Exit, $"c{i}", pid: 10), WantAck: true), Timeout);

        var subscriber = CreateTestProbe();
        var error = await Assert.ThrowsAsync<ActorRuntime.Protocol.Ttrpc.TtrpcException>(() =>
            bus.Ask<Subscribed>(new SubscribeFrom(420, [], subscriber.Ref), Timeout));
        Assert.Equal(ActorRuntime.Protocol.Ttrpc.TtrpcCode.OutOfRange, error.Code);
        Assert.Contains("offset 420 is beyond the last event 3", error.Message);
        Assert.IsType<Subscribed>(await bus.Ask<object>(new SubscribeFrom(3, [], subscriber.Ref), Timeout));
    }

    [Fact]
    public async Task A_bus_recovered_from_its_snapshot_keeps_its_drop_counters()
    {
        var settings = EventBusSettings.Default with { PersistenceId = $"event-bus-{Guid.NewGuid():N}", SnapshotEvery = 2 };
        var bus = Sys.ActorOf(EventBus.Props(settings));
        async Task<PublishOutcome> Publish(TaskEvent e) => (await bus.Ask<Published>(new Publish(e, WantAck: true), Timeout)).Outcome;
        Assert.Equal(PublishOutcome.Delivered, await Publish(Ev(Topics.Start, "c1", pid: 30)));
        Assert.Equal(PublishOutcome.DroppedDuplicate, await Publish(Ev(Topics.Start, "c1", pid: 30)));
        Assert.Equal(PublishOutcome.DroppedStale, await Publish(Ev(Topics.Exit, "c1", pid: 31)));
        // The second write takes the snapshot; drops write nothing, so the snapshot is where their counters survive.
        Assert.Equal(PublishOutcome.Delivered, await Publish(Ev(Topics.Exit, "c2", pid: 40)));
        await AwaitAssertAsync(async () => Assert.Equal(2L, (await StatsAsync(bus)).LastOffset));
        await WatchAsync(bus);
        Sys.Stop(bus);
        await ExpectTerminatedAsync(bus);

        var recovered = await StatsAsync(Sys.ActorOf(EventBus.Props(settings)));
        Assert.Equal((2L, 1L, 1L), (recovered.LastOffset, recovered.DroppedDuplicates, recovered.DroppedStale));
    }
}
