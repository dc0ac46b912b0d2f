using System.Globalization;

namespace ActorRuntime.Events;

/// <summary>
/// A position in the bus's event sequence: the delivery number the bus gave an event when it decided to deliver it
/// (1, 2, 3, …; <see cref="Start"/> = before the first). The bus is the only writer of its events, so these numbers are
/// the offsets subscribers see and resume from. A type of its own so that a later merged order across nodes can change
/// what a position is in one place; <see cref="TaskEvent.Offset"/> stays a plain long for the wire and the journal.
/// </summary>
public readonly record struct EventOffset(long Value) : IComparable<EventOffset>
{
    public static readonly EventOffset Start = new(0);

    public EventOffset Next => new(Value + 1);

    public static EventOffset Of(TaskEvent e) => new(e.Offset);

    public static EventOffset Max(EventOffset a, EventOffset b) => a >= b ? a : b;

    public int CompareTo(EventOffset other) => Value.CompareTo(other.Value);

    public static bool operator <(EventOffset a, EventOffset b) => a.Value < b.Value;

    public static bool operator >(EventOffset a, EventOffset b) => a.Value > b.Value;

    public static bool operator <=(EventOffset a, EventOffset b) => a.Value <= b.Value;

    public static bool operator >=(EventOffset a, EventOffset b) => a.Value >= b.Value;

    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);
}
