
namespace ActorRuntime.Events;

/// <summary>Why a published event was not delivered.</summary>
public enum DropReason
{
    /// <summary>The run already had this event (exit, delete; or an exact repeat of create/start).</summary>
    Duplicate,
    /// <summary>The event's pid belongs to an earlier run of the same key.</summary>
    Stale,
}

/// <summary>What <see cref="EventBusState.Decide(TaskEvent, DateTimeOffset, RunRetention)"/> decided for one published event.</summary>
public abstract record PublishDecision(TaskEvent Event);

/// <summary>Deliver <paramref name="Event"/> (its Offset assigned). When <paramref name="Key"/> is set, the run becomes <paramref name="Run"/>.</summary>
/// <remarks>
/// This is what the bus journals (tagged <c>task-events</c>); the stored Event.Offset is the bus's own delivery number,
/// the offset subscribers see.
/// </remarks>
public sealed record EventDelivered(TaskEvent Event, RunKey? Key, RunState? Run) : PublishDecision(Event), IBusJournalEntry;

/// <summary>Drop <paramref name="Event"/> (Offset stays 0); <paramref name="Detail"/> says why, for logs.</summary>
public sealed record EventDropped(TaskEvent Event, DropReason Reason, string Detail) : PublishDecision(Event);

/// <summary>Bookkeeping of these finished (or orphaned, or over-capacity) runs is forgotten.</summary>
public sealed record RunsForgotten(IReadOnlyList<RunKey> Keys) : IRunBookkeeping;

/// <summary>
/// Their owner released these runs (each the run <c>RunId</c> of its key) at <paramref name="At"/>: once finished, they
/// are forgotten after the retention (see <see cref="RunState.ReleasedAt"/>).
/// </summary>
public sealed record RunsReleased(IReadOnlyList<(RunKey Key, long RunId)> Runs, DateTimeOffset At) : IRunBookkeeping;

/// <summary>
/// The cluster gave these runs up at <paramref name="At"/> (their node was lost past its grace period, and the cluster
/// published their exit and delete): each ends here, exited with <paramref name="ExitStatus"/> unless it had exited, and
/// deleted, so anything the node's runtime offers of them later is a duplicate. Written into the lost node's bus journal
/// by the cluster's fence, not by the bus (see <see cref="Cluster.BusFence"/>): a bus still running there, unaware, has its
/// next write refused by the journal and recovers this.
/// </summary>
public sealed record RunsGivenUp(IReadOnlyList<RunKey> Keys, uint ExitStatus, DateTimeOffset At) : IRunBookkeeping;

/// <summary>What the bus writes to its journal: a delivered event, or bookkeeping of its runs.</summary>
public interface IBusJournalEntry;

/// <summary>A journal entry that changes only which runs the bus keeps (no delivery, no publisher waiting).</summary>
public interface IRunBookkeeping : IBusJournalEntry;
