using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;

namespace ActorRuntime.Cluster;

/// <summary>
/// Publishes this node's free memory (MemAvailable of /proc/meminfo) every interval into a replicated map node → bytes,
/// which placement reads to break ties between nodes with as many containers.
/// </summary>
public sealed class NodeMemoryPublisher : ReceiveActor, IWithTimers
{
    public static readonly LWWDictionaryKey<string, long> Key = new("actorruntime-node-free-memory");

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public NodeMemoryPublisher(string node, TimeSpan interval, Func<long?> readFreeMemory)
    {
        var replicator = DistributedData.Get(Context.System).Replicator;
        var self = Akka.Cluster.Cluster.Get(Context.System).SelfUniqueAddress;
        Receive<Tick>(_ =>
        {
            if (readFreeMemory() is { } free)
                replicator.Tell(Dsl.Update(Key, LWWDictionary<string, long>.Empty, WriteLocal.Instance, map => map.SetItem(self, node, free)));
        });
        Receive<IUpdateResponse>(_ => { });
        Self.Tell(Tick.Instance);
        Timers.StartPeriodicTimer("publish", Tick.Instance, interval);
    }

    public static Props Props(string node, TimeSpan interval) =>
        Akka.Actor.Props.Create(() => new NodeMemoryPublisher(node, interval, ReadMemAvailable));

    /// <summary>Every node's last published free memory.</summary>
    public static async Task<IReadOnlyDictionary<string, long>> ReadAllAsync(ActorSystem system, TimeSpan timeout, CancellationToken ct)
    {
        var reply = await DistributedData.Get(system).Replicator.Ask<IGetResponse>(Dsl.Get(Key, ReadLocal.Instance), timeout, ct);
        return reply is GetSuccess success ? success.Get(Key).Entries : ImmutableDictionary<string, long>.Empty;
    }

    private static long? ReadMemAvailable()
    {
        try
        {
            return ParseMemAvailable(File.ReadLines("/proc/meminfo"));
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>"MemAvailable:   123456 kB" in bytes; null when the line is missing.</summary>
    public static long? ParseMemAvailable(IEnumerable<string> meminfo) =>
        meminfo.Where(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length >= 2 && long.TryParse(p[1], out _))
            .Select(p => long.Parse(p[1]) * (p.Length > 2 && p[2] == "kB" ? 1024 : 1))
            .Cast<long?>().FirstOrDefault();
}
