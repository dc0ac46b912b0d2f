using System.Collections.Immutable;
using Akka.Actor;

namespace ActorRuntime.Tasks;

/// <summary>
/// Whose turn it is to start an exec at the shim: one exec Start of a task at a time, the others in the order they
/// asked. containerd 1.6's runc shim holds one lock (eventSendMu) across every Start, so concurrent Starts only queue
/// inside the shim, each under its own deadline, and slow one another down (moby#45595: 50 execs ~1 min; moby's per-task
/// serialisation brought them to ~3 s). Queued here, each Start's deadline counts only its own runc exec. Only Start
/// waits its turn: Exec, Kill, CloseIO, Resize, Wait and Delete of every exec run side by side. Immutable; the task
/// actor keeps it.
/// </summary>
internal sealed record ExecStartTurns(ExecStartTurns.Turn? Holder, ImmutableQueue<ExecStartTurns.Turn> Waiting)
{
    /// <summary>An exec actor's request, and who to tell when it is granted.</summary>
    public sealed record Turn(IActorRef Exec, IActorRef ReplyTo);

    public static readonly ExecStartTurns None = new(null, ImmutableQueue<Turn>.Empty);

    /// <summary>Granted at once when nobody holds the turn, else queued.</summary>
    public (ExecStartTurns Next, Turn? Granted) Request(Turn turn) =>
        Holder is null ? (this with { Holder = turn }, turn) : (this with { Waiting = Waiting.Enqueue(turn) }, null);

    /// <summary>The exec's Start is over (or the exec actor is gone): the next in line gets the turn.</summary>
    public (ExecStartTurns Next, Turn? Granted) Release(IActorRef exec)
    {
        if (Holder is null || !Holder.Exec.Equals(exec))
            return (this with { Waiting = ImmutableQueue.CreateRange(Waiting.Where(t => !t.Exec.Equals(exec))) }, null);
        if (Waiting.IsEmpty) return (None, null);
        var rest = Waiting.Dequeue(out var next);
        return (new ExecStartTurns(next, rest), next);
    }
}
