using System.Collections.Immutable;
using ActorRuntime.Events;
using ActorRuntime.Shims;
using Akka.Actor;

namespace ActorRuntime.Tasks;

/// <summary>
/// The one door through which a process's end enters the EventBus: its <c>/tasks/exit</c>, and for a container's init
/// the <c>/tasks/delete</c> after it. Every witness of an exit is offered here and nowhere else (<see cref="ExitWitness.Source"/>):
/// the shim's own forwarded exit and delete, our Wait, the shim's Delete reply, the shim's State after a reload or an
/// exec re-attach, an exec the shim no longer knows, dead-shim cleanup, and records settled after a restart.
/// <para><b>Which witness wins:</b> the first to arrive for a run. A run is one life of a process (namespace, container,
/// exec id), told apart by pid (0, unknown, matches any). Later witnesses of the run are dropped here; a delete enters
/// once and never before the exit (a delete witness whose run has no exit in yet brings that exit first, with the same
/// figures). First come is enough because every witness offers the best figures it can have: those from the shim
/// (forward, Wait, Delete reply, State) carry the real status; those that must make one up — dead-shim cleanup (the
/// shim delete's 137, or 255 when the init had already ended unwatched or the delete failed), a settled record or an
/// exec the shim lost (255) — offer the process record's real exit instead whenever it holds one
/// (<see cref="ExitWitness.Unsure"/>), and they only come once the shim can no longer report anything itself.</para>
/// <para>A run is forgotten when our side ends it (<see cref="ExitWitness.EndsRun"/>; a container's end ends its execs):
/// an id starts its next run only after that. A copy arriving later, such as a slow forward retry, passes on to the
/// EventBus, which keeps exactly-once as the last line.</para>
/// </summary>
internal sealed class Exits : ReceiveActor
{
    /// <summary>A process exited.</summary>
    public sealed record Exited(ExitWitness Witness, bool WantAck = false);

    /// <summary>A container's init was deleted (or is gone for good): its exit, then its delete.</summary>
    public sealed record Deleted(ExitWitness Witness, bool WantAck = false);

    /// <summary>Reply to a witness sent with WantAck, once what it brought is on its way to the bus.</summary>
    public sealed record Entered(int Events);

    private ExitsState _state = ExitsState.Empty;
    private ShimManagerProtocol.ExitStats _stats = new(ImmutableDictionary<ExitWitness.Source, long>.Empty, 0, 0);

    public Exits(IActorRef eventBus)
    {
        Receive<Exited>(m => Witness(eventBus, m.Witness, deleted: false, m.WantAck));
        Receive<Deleted>(m => Witness(eventBus, m.Witness, deleted: true, m.WantAck));
        Receive<ShimManagerProtocol.GetExitStats>(_ => Sender.Tell(_stats));
    }

    public static Props Props(IActorRef eventBus) => Akka.Actor.Props.Create(() => new Exits(eventBus));

    private void Witness(IActorRef eventBus, ExitWitness witness, bool deleted, bool wantAck)
    {
        (_state, var enter) = _state.Witness(witness, deleted);
        _stats = Count(_stats, witness.From, enter.Count);
        foreach (var e in enter) eventBus.Tell(new EventBusProtocol.Publish(e));
        if (wantAck) Sender.Tell(new Entered(enter.Count));
    }

    private static ShimManagerProtocol.ExitStats Count(ShimManagerProtocol.ExitStats stats, ExitWitness.Source from, int entered) =>
        new(((ImmutableDictionary<ExitWitness.Source, long>)stats.Witnessed).SetItem(from, stats.WitnessedFrom(from) + 1),
            stats.Entered + entered, stats.Dropped + (entered == 0 ? 1 : 0));
}
