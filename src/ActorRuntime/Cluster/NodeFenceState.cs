using System.Collections.Immutable;
using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Store;
using static ActorRuntime.Cluster.NodeFenceProtocol;
using FenceDecision = ActorRuntime.Store.Decision<ActorRuntime.Cluster.NodeFenceEvent>;

namespace ActorRuntime.Cluster;

/// <summary>What a node's <see cref="NodeFence"/> journals (stored as Contracts/NodeFenceContracts.cs).</summary>
public abstract record NodeFenceEvent
{
    /// <summary>
    /// The incarnation <paramref name="Uid"/> of the node serves since <paramref name="At"/> (it asked at its start and had
    /// nothing to fence, or the warden saw it Up while it was counted lost).
    /// </summary>
    public sealed record Serving(long Uid, DateTimeOffset At) : NodeFenceEvent;

    /// <summary>The node was downed or left the membership at <paramref name="At"/>: its grace period runs from then.</summary>
    public sealed record Lost(DateTimeOffset At) : NodeFenceEvent;

    /// <summary>
    /// One event the cluster publishes for a container of a node whose grace period passed: its exit (255) or its delete.
    /// Tagged like every bus's delivered events, so the cluster's one stream carries it (node: the fence's persistence id).
    /// </summary>
    public sealed record ContainerGivenUp(TaskEvent Event) : NodeFenceEvent;

    /// <summary>
    /// The grace period passed at <paramref name="At"/>: the node is being given up. Its bus is fenced before the give-up
    /// is written; a return meanwhile waits, since the fence's mark in the bus would drop the returned node's exits.
    /// </summary>
    public sealed record GivingUp(DateTimeOffset At) : NodeFenceEvent;

    /// <summary>The grace period passed at <paramref name="At"/>; the containers given up are the events just before it.</summary>
    public sealed record GivenUp(DateTimeOffset At) : NodeFenceEvent;

    /// <summary>Incarnation <paramref name="Uid"/> killed and cleaned up what was given up, before serving from <paramref name="At"/>.</summary>
    public sealed record Fenced(long Uid, DateTimeOffset At) : NodeFenceEvent;
}

/// <summary>
/// One node's standing as the cluster sees it across its losses and returns: serving; lost since a time (its grace period
/// running); or given up, with the containers whose exit and delete the cluster published, which the node must kill and
/// clean up — without publishing anything for them — before it serves again. Pure: the <see cref="NodeFence"/> supplies
/// the time and the containers, and does the I/O.
/// </summary>
/// <para><paramref name="ServingSince"/>: when the serving incarnation said so; a loss the warden only inferred (no uid)
/// from a time before it is older news.</para>
public sealed record NodeFenceState(
    NodeFenceState.Standing Status,
    long? ServingUid,
    DateTimeOffset? LostAt,
    ImmutableList<ContainerKey> ToFence,
    DateTimeOffset? ServingSince = null) : IDurableState<NodeFenceState, NodeFenceEvent>
{
    public enum Standing
    {
        Serving,
        Lost,
        GivingUp,
        GivenUp,
    }

    public const string Reason = "node lost";

    public static readonly NodeFenceState Empty = new(Standing.Serving, null, null, []);

    /// <summary>When the grace period ends, while the node is lost.</summary>
    public DateTimeOffset? GraceEndsAt(TimeSpan grace) => Status == Standing.Lost ? LostAt + grace : null;

    public FenceDecision Decide(INodeFenceCommand command) => command switch
    {
        MarkLost lost when !IsLossOfServing(lost) => FenceDecision.None,
        MarkLost lost => FenceDecision.Persist(new NodeFenceEvent.Lost(lost.At)),
        // The incarnation that serves is Up after all (a loss inferred while gossip had not shown it yet): not lost.
        SeenUp up when Status == Standing.Lost && ServingUid == up.Uid => FenceDecision.Persist(new NodeFenceEvent.Serving(up.Uid, up.At)),
        SeenUp => FenceDecision.None,
        BeginGiveUp b when Status == Standing.Lost && b.LostAt == LostAt => FenceDecision.Persist(new NodeFenceEvent.GivingUp(b.At)),
        BeginGiveUp => FenceDecision.None,
        // Unanswered: the returning node asks again until the give-up is written, then gets its orders.
        Returning when Status == Standing.GivingUp => FenceDecision.None,
        Returning r when Status == Standing.GivenUp => FenceDecision.Respond(new FenceOrders(r.Node, ToFence)),
        Returning r when Status == Standing.Serving && ServingUid == r.Uid => FenceDecision.Respond(new FenceOrders(r.Node, [])),
        Returning r => FenceDecision.Persist(new NodeFenceEvent.Serving(r.Uid, r.At), new FenceOrders(r.Node, [])),
        ReportFenced f when Status == Standing.GivenUp =>
            FenceDecision.Persist(new NodeFenceEvent.Fenced(f.Uid, f.At), new FenceLifted(f.Node)),
        ReportFenced f => FenceDecision.Respond(new FenceLifted(f.Node)),
        // Only the give-up of this very loss: one decided for an earlier loss (read while the node returned and was lost
        // again) would cut the new grace period short.
        GiveUp g when Status != Standing.GivingUp || g.LostAt != LostAt => FenceDecision.None,
        GiveUp g => new FenceDecision(
            [
                .. g.Containers.Distinct().Order().SelectMany(c =>
                    GivenUpEvents(c, g.At, g.ExitedOnBus?.FirstOrDefault(e => e.Container == c))),
                new NodeFenceEvent.GivenUp(g.At),
            ], null),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command, "not a node fence command"),
    };

    /// <summary>
    /// Whether a reported loss is one of the node as it serves now: not while it is lost or given up already; not the
    /// loss of an older incarnation (removed only after the new one joined); and a loss the warden inferred without a uid
    /// only if the node went missing after it last said it serves.
    /// </summary>
    private bool IsLossOfServing(MarkLost lost) => Status == Standing.Serving && lost.Uid switch
    {
        { } uid => ServingUid is not { } serving || uid == serving,
        null => ServingSince is not { } since || lost.At > since,
    };

    /// <summary>
    /// The exit and the delete the cluster publishes for a container of a lost node: status 255, pid unknown (0). When the
    /// node's bus delivered the container's exit already (<paramref name="exited"/>), only the delete, repeating that exit.
    /// </summary>
    public static IEnumerable<NodeFenceEvent> GivenUpEvents(ContainerKey container, DateTimeOffset at, ExitOnBus? exited = null)
    {
        TaskEvent Event(string topic) => new(container.Namespace, topic, container.Id, "", 0, GivenUpExitStatus, at, at);
        if (exited is null) yield return new NodeFenceEvent.ContainerGivenUp(Event(Topics.Exit));
        yield return new NodeFenceEvent.ContainerGivenUp(exited is null
            ? Event(Topics.Delete)
            : Event(Topics.Delete) with { ExitStatus = exited.ExitStatus, ExitedAt = exited.ExitedAt ?? at });
    }

    /// <summary>What a container given up exits with: the status containerd reports when it cannot know the real one.</summary>
    public const uint GivenUpExitStatus = 255;

    public NodeFenceState Apply(NodeFenceEvent evt) => evt switch
    {
        NodeFenceEvent.Serving s => this with { Status = Standing.Serving, ServingUid = s.Uid, LostAt = null, ServingSince = s.At },
        NodeFenceEvent.Lost l => this with { Status = Standing.Lost, LostAt = l.At },
        NodeFenceEvent.GivingUp => this with { Status = Standing.GivingUp },
        NodeFenceEvent.ContainerGivenUp { Event.Topic: Topics.Delete } g =>
            this with { ToFence = ToFence.Add(new ContainerKey(g.Event.Namespace, g.Event.ContainerId)) },
        NodeFenceEvent.ContainerGivenUp => this,
        NodeFenceEvent.GivenUp => this with { Status = Standing.GivenUp },
        NodeFenceEvent.Fenced f => new NodeFenceState(Standing.Serving, f.Uid, null, [], f.At),
        _ => throw new ArgumentOutOfRangeException(nameof(evt), evt, "not a node fence event"),
    };
}
