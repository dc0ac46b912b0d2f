using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace ActorRuntime.Tests.Runtime;

/// <summary>
/// The in-memory journal with a gate for specs: while it holds a persistence id, that id's writes wait unhandled (so
/// the writer gets no confirmation; writes of other ids, and their confirmations, go on), until <see cref="Release"/>
/// writes them in order or <see cref="Drop"/> discards them, as a process killed before its write would.
/// It also keeps what each id wrote (<see cref="GetWritten"/>). Configure with <see cref="Hocon"/>; talk to it through
/// <see cref="Of"/>.
/// </summary>
public sealed class GatedJournal : MemoryJournal
{
    public const string Hocon = "akka.persistence.journal.inmem.class = \"ActorRuntime.Tests.Runtime.GatedJournal, ActorRuntime.Tests\"";

    public sealed record Hold(string PersistenceId);

    public sealed record Release;

    public sealed record Drop;

    public sealed record GetHeld;

    /// <summary>Every payload <paramref name="PersistenceId"/> has had written so far, in order (answered as <see cref="Held"/>).</summary>
    public sealed record GetWritten(string PersistenceId);

    /// <summary>The payloads of the held writes, in order (tags unwrapped).</summary>
    public sealed record Held(IReadOnlyList<object> Payloads);

    public sealed record Done;

    private readonly List<WriteMessages> _held = [];
    private readonly List<(string PersistenceId, object Payload)> _written = [];
    private string? _holding;

    public static IActorRef Of(ActorSystem system) => Akka.Persistence.Persistence.Instance.Apply(system).JournalFor("akka.persistence.journal.inmem");

    protected override bool AroundReceive(Receive receive, object message)
    {
        switch (message)
        {
            case Hold h:
                _holding = h.PersistenceId;
                Sender.Tell(new Done());
                return true;
            case Release:
                _holding = null;
                foreach (var write in _held) AroundReceive(receive, write);
                _held.Clear();
                Sender.Tell(new Done());
                return true;
            case Drop:
                _holding = null;
                _held.Clear();
                Sender.Tell(new Done());
                return true;
            case GetHeld:
                Sender.Tell(new Held(_held.SelectMany(Payloads).Select(p => p.Payload is Tagged t ? t.Payload : p.Payload).ToList()));
                return true;
            case GetWritten g:
                Sender.Tell(new Held(_written.Where(w => w.PersistenceId == g.PersistenceId).Select(w => w.Payload).ToList()));
                return true;
            case WriteMessages w when _holding is { } id && w.Messages.OfType<AtomicWrite>().Any(a => a.PersistenceId == id):
                _held.Add(w);
                return true;
            case WriteMessages w:
                _written.AddRange(Payloads(w).Select(p => (p.PersistenceId, p.Payload is Tagged t ? t.Payload : p.Payload)));
                return base.AroundReceive(receive, message);
            default:
                return base.AroundReceive(receive, message);
        }
    }

    private static IEnumerable<IPersistentRepresentation> Payloads(WriteMessages write) =>
        write.Messages.OfType<AtomicWrite>().SelectMany(a => (IEnumerable<IPersistentRepresentation>)a.Payload);
}
