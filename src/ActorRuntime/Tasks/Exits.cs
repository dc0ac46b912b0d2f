using System.Collections.Immutable;
using ActorRuntime.Events;
using ActorRuntime.Shims;
using ActorRuntime.Store;
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
/// <para><b>Acknowledgement:</b> what a witness enters is published with WantAck, each event of a process once the one
/// before it is acknowledged (so a delete never overtakes its exit, even when the exit's write had to be retried), and
/// retried with a back-off (<see cref="PersistenceBackoff"/>) until the bus acknowledges it: a failed or rejected
/// journal write, a bus restarting after one (it answers Unavailable meanwhile) or no answer within the ack timeout
/// loses nothing. The same event is sent again; the bus decides it anew and drops it if the first copy was written.
/// A witness sent with WantAck is answered with <see cref="Entered"/> only once the bus has acknowledged the write of
/// everything it entered (<see cref="EventBusProtocol.Published"/>: written, or dropped as a duplicate or stale, a
/// duplicate of a write still under way only once that is written), and of everything entered for the same process
/// before it, so <c>Entered(0)</c> (nothing needed entering) also means the run's earlier events are durable. The
/// sender waits meanwhile, up to its own timeout (<see cref="TryEnterAsync"/>), and gets a <see cref="Status.Failure"/>
/// only if this door stops first. Who forgets a process record, removes a bundle or answers a Delete waits for this
/// first: the record says an exit is owed until its events are durable (<see cref="TryEnterAsync"/>).</para>
/// </summary>
internal sealed class Exits : ReceiveActor
{
    /// <summary>A process exited.</summary>
    public sealed record Exited(ExitWitness Witness, bool WantAck = false);

    /// <summary>A container's init was deleted (or is gone for good): its exit, then its delete.</summary>
    public sealed record Deleted(ExitWitness Witness, bool WantAck = false);

    /// <summary>Reply to a witness sent with WantAck, once the bus has acknowledged the write of what it entered.</summary>
    public sealed record Entered(int Events);

    /// <summary>
    /// How long the door waits for the bus to acknowledge one attempt at a write before it sends the event again (a copy
    /// of a write still under way waits for that write, so a slow journal costs a retry, never an early ack).
    /// </summary>
    public static readonly TimeSpan DefaultAckTimeout = TimeSpan.FromSeconds(5);

    private sealed record WritesSettled((string, string, string) Key, Task Writes);

    private readonly IActorRef _eventBus;
    private readonly TimeSpan _ackTimeout;
    private readonly PersistenceBackoff _retry;
    private readonly CancellationTokenSource _stopping = new();
    private ExitsState _state = ExitsState.Empty;
    private ShimManagerProtocol.ExitStats _stats = new(ImmutableDictionary<ExitWitness.Source, long>.Empty, 0, 0);

    /// <summary>Per process, the bus's acknowledgements of what was entered for it and not yet acknowledged.</summary>
    private ImmutableDictionary<(string, string, string), Task> _unacked = ImmutableDictionary<(string, string, string), Task>.Empty;

    public Exits(IActorRef eventBus, TimeSpan? ackTimeout = null)
    {
        _eventBus = eventBus;
        _ackTimeout = ackTimeout ?? DefaultAckTimeout;
        _retry = PersistenceBackoff.Create(Context.System.Settings.Config);
        Receive<Exited>(m => Witness(m.Witness, deleted: false, m.WantAck));
        Receive<Deleted>(m => Witness(m.Witness, deleted: true, m.WantAck));
        Receive<WritesSettled>(w =>
        {
            if (_unacked.TryGetValue(w.Key, out var current) && current == w.Writes) _unacked = _unacked.Remove(w.Key);
        });
        Receive<ShimManagerProtocol.GetExitStats>(_ => Sender.Tell(_stats));
    }

    public static Props Props(IActorRef eventBus, TimeSpan? ackTimeout = null) =>
        Akka.Actor.Props.Create(() => new Exits(eventBus, ackTimeout));

    /// <summary>
    /// Offers <paramref name="witnesses"/> (<see cref="Exited"/> or <see cref="Deleted"/>, sent with WantAck, in this
    /// order) and completes once the bus has acknowledged every write they needed: with null, or with why it did not
    /// (<see cref="AskTimeoutException"/> after <paramref name="timeout"/>, or the bus's failure). Callable off an actor's thread.
    /// </summary>
    public static async Task<Exception?> TryEnterAsync(IActorRef exits, IEnumerable<object> witnesses, TimeSpan timeout)
    {
        try
        {
            await Task.WhenAll(witnesses.Select(w => exits.Ask<Entered>(w, timeout)).ToList()).ConfigureAwait(false);
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private void Witness(ExitWitness witness, bool deleted, bool wantAck)
    {
        (_state, var enter) = _state.Witness(witness, deleted);
        _stats = Count(_stats, witness.From, enter.Count);
        var key = (witness.Namespace, witness.ContainerId, witness.ExecId);
        var earlier = _unacked.TryGetValue(key, out var unacked) ? unacked : Task.CompletedTask;
        var acked = enter.Count == 0 ? earlier : EnterInOrderAsync(earlier, enter);
        if (!acked.IsCompleted)
        {
            _unacked = _unacked.SetItem(key, acked);
            var self = Self;
            acked.ContinueWith(t => self.Tell(new WritesSettled(key, t)), TaskScheduler.Default);
        }
        if (!wantAck) return;
        var entered = new Entered(enter.Count);
        if (acked.IsCompletedSuccessfully) Sender.Tell(entered);
        else acked.PipeTo(Sender, success: () => entered, failure: e => new Status.Failure(e));
    }

    /// <summary>After what was entered for the process before, each event in turn, every one until the bus acknowledges it.</summary>
    private async Task EnterInOrderAsync(Task earlier, IReadOnlyList<TaskEvent> events)
    {
        await earlier.ConfigureAwait(false);
        foreach (var e in events) await PublishUntilAcknowledgedAsync(e).ConfigureAwait(false);
    }

    /// <summary>Off the actor's thread: touches only what never changes, and ends (cancelled) when the door stops.</summary>
    private Task PublishUntilAcknowledgedAsync(TaskEvent e) =>
        AcknowledgedPublish.UntilAcknowledgedAsync(_eventBus, e, _ackTimeout, _retry, _stopping.Token);

    protected override void PostStop()
    {
        _stopping.Cancel();
        base.PostStop();
    }

    private static ShimManagerProtocol.ExitStats Count(ShimManagerProtocol.ExitStats stats, ExitWitness.Source from, int entered) =>
        new(((ImmutableDictionary<ExitWitness.Source, long>)stats.Witnessed).SetItem(from, stats.WitnessedFrom(from) + 1),
            stats.Entered + entered, stats.Dropped + (entered == 0 ? 1 : 0));
}
