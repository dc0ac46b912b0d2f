using ActorRuntime.Containers;

namespace ActorRuntime.Cluster;

/// <summary>
/// Messages of the <see cref="NodeLossWarden"/> (the cluster singleton) and the <see cref="NodeFence"/> it keeps per node;
/// every command names its node, so the warden routes it to that node's fence.
/// </summary>
public static class NodeFenceProtocol
{
    public interface INodeFenceCommand
    {
        string Node { get; }
    }

    /// <summary>
    /// The membership says <paramref name="Node"/> is gone (downed, or removed) since <paramref name="At"/>: incarnation
    /// <paramref name="Uid"/>, or null when the warden found it missing without seeing it go (a warden that took over).
    /// </summary>
    public sealed record MarkLost(string Node, long? Uid, DateTimeOffset At) : INodeFenceCommand;

    /// <summary>
    /// Incarnation <paramref name="Uid"/> of <paramref name="Node"/> starts and asks what to fence before it serves; the
    /// reply is <see cref="FenceOrders"/>. From then on the node is serving and cannot be given up for the loss before.
    /// </summary>
    public sealed record Returning(string Node, long Uid, DateTimeOffset At) : INodeFenceCommand;

    /// <summary>The warden saw incarnation <paramref name="Uid"/> of <paramref name="Node"/> Up at <paramref name="At"/>.</summary>
    public sealed record SeenUp(string Node, long Uid, DateTimeOffset At) : INodeFenceCommand;

    /// <summary>The containers the node must kill and clean up, publishing nothing for them, before it serves (none: serve).</summary>
    public sealed record FenceOrders(string Node, IReadOnlyList<ContainerKey> Containers);

    /// <summary>The node did what <see cref="FenceOrders"/> said; the reply is <see cref="FenceLifted"/>.</summary>
    public sealed record ReportFenced(string Node, long Uid, DateTimeOffset At) : INodeFenceCommand;

    public sealed record FenceLifted(string Node);

    /// <summary>
    /// The grace period of the loss at <paramref name="LostAt"/> passed at <paramref name="At"/>: from now on the node is
    /// being given up (its bus fenced, then <see cref="GiveUp"/>), and a return waits until that is done. Ignored unless
    /// the node is still lost, since that same time. The fence tells itself; no reply.
    /// </summary>
    public sealed record BeginGiveUp(string Node, DateTimeOffset LostAt, DateTimeOffset At) : INodeFenceCommand;

    /// <summary>
    /// The grace period of the loss at <paramref name="LostAt"/> passed: publish one exit (255) and one delete for each of
    /// <paramref name="Containers"/> (those the ownership map gives the node) and record them to be fenced. Ignored
    /// unless the node is being given up for that same loss. The fence tells itself, once the node's bus is fenced
    /// (<see cref="BusFence"/>); no reply. <paramref name="ExitedOnBus"/>: containers whose exit the node's bus delivered
    /// already; they get only the delete, with that exit's figures.
    /// </summary>
    public sealed record GiveUp(string Node, IReadOnlyList<ContainerKey> Containers, DateTimeOffset LostAt, DateTimeOffset At,
        IReadOnlyList<ExitOnBus>? ExitedOnBus = null) : INodeFenceCommand;

    /// <summary>The node's bus had delivered this exit for the container's current run (and no delete).</summary>
    public sealed record ExitOnBus(ContainerKey Container, uint ExitStatus, DateTimeOffset? ExitedAt);
}
