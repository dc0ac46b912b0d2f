using System.Diagnostics;
using System.Threading.Channels;
using ActorRuntime.Events;
using ActorRuntime.Store;
using Akka.Actor;
using Akka.Configuration;
using static ActorRuntime.Events.EventBusProtocol;

namespace ActorRuntime.Benchmarks;

/// <summary>
/// Publish-to-subscriber latency of the EventBus on a SQLite store in a temp dir (or Akka's in-memory journal, to see the
/// actors' share alone): one event in flight at a time (the next is published once the subscriber has the previous one),
/// so each figure is the path a dockerd-style subscriber waits on — decision, journal write, hand-over — without queueing
/// behind other events. Warm-up events are not counted.
/// </summary>
internal static class EventLatency
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    public static async Task<LatencyResult> RunAsync(int n, int warmup, PersistenceProvider store, TextWriter log)
    {
        var dir = Directory.CreateTempSubdirectory("arbench-events-");
        try
        {
            var settings = new PersistenceSettings(store,
                store == PersistenceProvider.Sqlite ? $"Data Source={Path.Combine(dir.FullName, PersistenceSettings.DatabaseFileName)}" : "",
                dir.FullName);
            settings.EnsureStorage();
            var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING")
                .WithFallback(ActorRuntimePersistence.ToConfig(settings));
            var system = ActorSystem.Create("event-latency", ActorRuntimePersistence.Setup(settings, config));
            try
            {
                var bus = system.ActorOf(EventBus.Props(EventBusSettings.Create(config)), "event-bus");
                var arrivals = Channel.CreateUnbounded<Arrival>();
                var subscriber = system.ActorOf(Props.Create(() => new TimingSubscriber(arrivals.Writer)));
                await bus.Ask<Subscribed>(new Subscribe([], subscriber), Bound);

                var latencies = new List<double>(n);
                for (var i = 0; i < warmup + n; i++)
                {
                    var container = $"c{i}";
                    var published = Stopwatch.GetTimestamp();
                    bus.Tell(new Publish(new TaskEvent("bench", Topics.Oom, container, "", 0, 0, null, DateTimeOffset.UtcNow)));
                    using var cts = new CancellationTokenSource(Bound);
                    var arrival = await arrivals.Reader.ReadAsync(cts.Token);
                    if (arrival.ContainerId != container)
                        throw new InvalidOperationException($"expected {container}, the subscriber got {arrival.ContainerId}");
                    if (i >= warmup)
                        latencies.Add(Stopwatch.GetElapsedTime(published, arrival.Timestamp).TotalMilliseconds);
                    if ((i + 1) % 500 == 0) log.WriteLine($"events: {i + 1} of {warmup + n}");
                }
                return LatencyResult.Of(store.ToString(), n, warmup, latencies);
            }
            finally
            {
                await system.Terminate().WaitAsync(Bound);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }

    private readonly record struct Arrival(string ContainerId, long Timestamp);

    /// <summary>Takes the arrival time first, then acks, so the figure ends where the subscriber holds the event.</summary>
    private sealed class TimingSubscriber : ReceiveActor
    {
        public TimingSubscriber(ChannelWriter<Arrival> arrivals) =>
            Receive<TaskEvent>(e =>
            {
                var at = Stopwatch.GetTimestamp();
                Sender.Tell(new Ack(e.Offset));
                arrivals.TryWrite(new Arrival(e.ContainerId, at));
            });
    }
}

/// <summary>Latency percentiles in milliseconds (nearest-rank).</summary>
internal sealed record LatencyResult(
    string Store, int Events, int Warmup, double P50Ms, double P90Ms, double P99Ms, double MaxMs, double MeanMs)
{
    public static LatencyResult Of(string store, int events, int warmup, IReadOnlyCollection<double> samples)
    {
        var sorted = samples.Order().ToArray();
        double Rank(double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new LatencyResult(store, events, warmup, Rank(0.50), Rank(0.90), Rank(0.99), sorted[^1], sorted.Average());
    }
}
