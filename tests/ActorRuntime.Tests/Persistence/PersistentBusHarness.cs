using System.Threading.Channels;
using ActorRuntime.Events;
using ActorRuntime.Store;
using Akka.Actor;
using Akka.Configuration;
using static ActorRuntime.Events.EventBusProtocol;

namespace ActorRuntime.Tests.Persistence;

/// <summary>
/// One "run" of the runtime's event bus on a real database: its own ActorSystem configured exactly as
/// WithActorRuntime configures persistence (ActorRuntimePersistence.ToConfig and .Setup), terminated on dispose. It drives the bus
/// and reports what happened; the specs assert.
/// </summary>
internal sealed class PersistentBusHarness : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

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
        var system = ActorSystem.Create(name, ActorRuntimePersistence.Setup(settings, config));
        var busSettings = EventBusSettings.Create(config) with
        {
            SnapshotEvery = snapshotEvery,
            ReplayPageSize = 7,
            MaxInFlightPerSubscriber = maxInFlightPerSubscriber,
        };
        return new PersistentBusHarness(system, system.ActorOf(EventBus.Props(busSettings), "event-bus"));
    }

    /// <summary>An event as a shim publishes it; exits and deletes carry an exit time.</summary>
    public static TaskEvent Ev(string topic, string container, uint pid = 0, uint status = 0) =>
        new("moby", topic, container, "", pid, status, topic is Topics.Exit or Topics.Delete ? T0 : null, T0);

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

    /// <summary>
    /// Everything <paramref name="reader"/> received, in arrival order and never de-duplicated: read until
    /// <paramref name="count"/> events have come (or none has for <see cref="Timeout"/>: a bound on silence, not on the
    /// total), then whatever else arrives during <paramref name="quiet"/> (600 ms unless given) — so a list longer than
    /// <paramref name="count"/> means extra events, a shorter one missing events.
    /// </summary>
    public static async Task<List<TaskEvent>> ReceivedAsync(ChannelReader<TaskEvent> reader, int count, TimeSpan? quiet = null)
    {
        var received = await ReadUpToAsync(reader, count);
        await AndWhateverElseAsync(reader, received, quiet);
        return received;
    }

    /// <summary>The first half of <see cref="ReceivedAsync"/>: up to <paramref name="count"/> events, stopping early after <see cref="Timeout"/> of silence.</summary>
    public static async Task<List<TaskEvent>> ReadUpToAsync(ChannelReader<TaskEvent> reader, int count)
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
        }
        return list;
    }

    /// <summary>The second half of <see cref="ReceivedAsync"/>: waits <paramref name="quiet"/>, then appends whatever arrived meanwhile.</summary>
    public static async Task AndWhateverElseAsync(ChannelReader<TaskEvent> reader, List<TaskEvent> received, TimeSpan? quiet = null)
    {
        await Task.Delay(quiet ?? TimeSpan.FromMilliseconds(600));
        while (reader.TryRead(out var extra)) received.Add(extra);
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
