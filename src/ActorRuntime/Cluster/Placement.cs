using System.Collections.Immutable;
using ActorRuntime.Protocol.Ttrpc;

namespace ActorRuntime.Cluster;

/// <summary>Where a new container goes: a named node, or <see cref="Anywhere"/> (the least loaded node).</summary>
public abstract record Placement
{
    public static readonly Placement Anywhere = new AnyNode();

    public static Placement On(string node) => new Named(node);

    public sealed record Named(string Node) : Placement;

    public sealed record AnyNode : Placement;
}

/// <summary>One node's load as placement weighs it.</summary>
/// <param name="Containers">containers placed on the node and not deleted (from the ownership map, so a burst of creates
/// spreads before any of their tasks runs)</param>
/// <param name="FreeMemoryBytes">the node's MemAvailable as it last published it; null when it has not yet</param>
public sealed record NodeLoad(string Node, int Containers, long? FreeMemoryBytes);

/// <summary>The loads of the nodes that can take a container now (Up and reachable), and the one placement rule.</summary>
public sealed record NodeLoads(ImmutableArray<NodeLoad> Nodes)
{
    public static NodeLoads Of(IEnumerable<string> upNodes, IReadOnlyDictionary<string, int> containers,
        IReadOnlyDictionary<string, long> freeMemory) =>
        new([..upNodes.Distinct().Select(n => new NodeLoad(n, containers.GetValueOrDefault(n),
            freeMemory.TryGetValue(n, out var free) ? free : null))]);

    /// <summary>
    /// A named node if it can take the container (else Unavailable naming it); anywhere: the fewest containers, ties by the
    /// most free memory (a node that has not published it yet loses the tie), then by name so the choice is repeatable.
    /// </summary>
    public string Choose(Placement placement) => placement switch
    {
        Placement.Named named => Nodes.Any(n => n.Node == named.Node)
            ? named.Node
            : throw TtrpcException.FromStatus(TtrpcCode.Unavailable,
                $"node {named.Node} is not an Up, reachable member of the cluster (up: {Describe()})"),
        _ => Nodes.IsEmpty
            ? throw TtrpcException.FromStatus(TtrpcCode.Unavailable, "no node of the cluster is up to take a container")
            : Nodes.OrderBy(n => n.Containers).ThenByDescending(n => n.FreeMemoryBytes ?? -1).ThenBy(n => n.Node, StringComparer.Ordinal)
                .First().Node,
    };

    private string Describe() => Nodes.IsEmpty ? "none" : string.Join(", ", Nodes.Select(n => n.Node));
}
