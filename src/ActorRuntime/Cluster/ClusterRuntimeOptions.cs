using System.Text;
using ActorRuntime.Configuration;

namespace ActorRuntime.Cluster;

/// <summary>
/// Cluster mode as a host sets it in code (<c>WithCluster</c>). Left null, a property falls back to
/// <c>actor-runtime.cluster</c> in hocon/actorruntime.conf; set ones win, as with Akka.Hosting's option objects.
/// </summary>
public sealed class ClusterRuntimeOptions
{
    /// <summary>"host:port" or "akka.tcp://system@host:port"; not empty = cluster mode.</summary>
    public IReadOnlyList<string>? SeedNodes { get; set; }

    /// <summary>The node's stable name (its shard's role, its persistence ids' suffix).</summary>
    public string? NodeName { get; set; }

    /// <summary>Akka.Remote's TCP host, as other nodes reach this one.</summary>
    public string? Host { get; set; }

    public int? Port { get; set; }

    public string? SplitBrainStrategy { get; set; }

    public TimeSpan? StableAfter { get; set; }

    public TimeSpan? DownRemovalMargin { get; set; }

    public TimeSpan? NodeLostGracePeriod { get; set; }

    /// <summary>How long the node tries to join before actorruntimed starts it again as a new incarnation.</summary>
    public TimeSpan? RestartAfterUnsuccessfulJoin { get; set; }

    /// <summary>Renders only the properties that were set, to be prepended over the defaults.</summary>
    public string ToHocon()
    {
        const string c = ClusterSettings.Section;
        var sb = new StringBuilder();
        void Time(string key, TimeSpan? value)
        {
            if (value is { } v) sb.AppendLine($"{c}.{key} = {(long)v.TotalMilliseconds}ms");
        }
        if (SeedNodes is { } seeds) sb.AppendLine($"{c}.seed-nodes = [{string.Join(", ", seeds.Select(Hocon.Quote))}]");
        if (NodeName is not null) sb.AppendLine($"{c}.node-name = {Hocon.Quote(NodeName)}");
        if (Host is not null) sb.AppendLine($"{c}.host = {Hocon.Quote(Host)}");
        if (Port is { } port) sb.AppendLine($"{c}.port = {port}");
        if (SplitBrainStrategy is not null) sb.AppendLine($"{c}.split-brain-resolver.active-strategy = {Hocon.Quote(SplitBrainStrategy)}");
        Time("split-brain-resolver.stable-after", StableAfter);
        Time("down-removal-margin", DownRemovalMargin);
        Time("node-lost-grace-period", NodeLostGracePeriod);
        Time("restart-after-unsuccessful-join", RestartAfterUnsuccessfulJoin);
        return sb.ToString();
    }
}
