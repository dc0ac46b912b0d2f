using System.Text;
using System.Text.RegularExpressions;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;

namespace ActorRuntime.Events;

/// <summary>How a selector compares a field with its value.</summary>
public enum FilterOperator
{
    /// <summary>No operator: the field is present and non-empty.</summary>
    Present,
    /// <summary><c>==</c>: present and equal.</summary>
    Equal,
    /// <summary><c>!=</c>: not equal (an absent field counts as the empty string, so it matches any non-empty value).</summary>
    NotEqual,
    /// <summary><c>~=</c>: the value is a .NET regular expression that must match somewhere in the field (absent = "").</summary>
    Matches,
}

/// <summary>
/// One selector of a filter: <c>fieldpath[op value]</c>, e.g. <c>topic~=|^/tasks/|</c> or the bare <c>event.exec_id</c>.
/// </summary>
public sealed record FilterSelector
{
    /// <summary>A regex that runs longer than this against one field counts as "no match" (guards against catastrophic patterns).</summary>
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(200);

    private readonly Regex? _regex;

    public FilterSelector(IReadOnlyList<string> fieldPath, FilterOperator op, string value = "")
    {
        if (fieldPath.Count == 0)
            throw new ArgumentException("a selector needs a field path", nameof(fieldPath));
        FieldPath = [.. fieldPath];
        Operator = op;
        Value = op == FilterOperator.Present ? "" : value;
        if (op == FilterOperator.Matches)
            _regex = new Regex(Value, RegexOptions.CultureInvariant, RegexTimeout); // ArgumentException on a bad pattern
    }

    public IReadOnlyList<string> FieldPath { get; }
    public FilterOperator Operator { get; }
    public string Value { get; }

    public bool Matches(TaskEvent e)
    {
        var present = TaskEventFields.TryGet(e, FieldPath, out var value);
        switch (Operator)
        {
            case FilterOperator.Present:
                return present;
            case FilterOperator.Equal:
                return present && value == Value;
            case FilterOperator.NotEqual:
                return value != Value;
            case FilterOperator.Matches:
                try
                {
                    return _regex!.IsMatch(value);
                }
                catch (RegexMatchTimeoutException)
                {
                    return false;
                }
            default:
                return false;
        }
    }

    public bool Equals(FilterSelector? other) =>
        other is not null && Operator == other.Operator && Value == other.Value && FieldPath.SequenceEqual(other.FieldPath);

    public override int GetHashCode() => HashCode.Combine(Operator, Value, string.Join('.', FieldPath));

    /// <summary>Canonical text that parses back to an equal selector.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        for (var i = 0; i < FieldPath.Count; i++)
        {
            if (i > 0) sb.Append('.');
            sb.Append(EventFilterParser.IsPlainField(FieldPath[i]) ? FieldPath[i] : EventFilterParser.Quote(FieldPath[i]));
        }
        switch (Operator)
        {
            case FilterOperator.Equal: sb.Append("==").Append(EventFilterParser.Quote(Value)); break;
            case FilterOperator.NotEqual: sb.Append("!=").Append(EventFilterParser.Quote(Value)); break;
            case FilterOperator.Matches: sb.Append("~=").Append(EventFilterParser.Quote(Value)); break;
        }
        return sb.ToString();
    }
}

/// <summary>Selectors joined by <c>,</c>: all must match. No selectors (the empty filter string) matches everything.</summary>
public sealed record FilterConjunction
{
    public FilterConjunction(IReadOnlyList<FilterSelector> selectors) => Selectors = [.. selectors];

    public IReadOnlyList<FilterSelector> Selectors { get; }

    public bool Matches(TaskEvent e)
    {
        foreach (var s in Selectors)
        {
            if (!s.Matches(e)) return false;
        }
        return true;
    }

    public bool Equals(FilterConjunction? other) => other is not null && Selectors.SequenceEqual(other.Selectors);

    public override int GetHashCode() => Selectors.Aggregate(17, (h, s) => HashCode.Combine(h, s));

    public override string ToString() => string.Join(',', Selectors);
}

/// <summary>
/// containerd's event filter syntax, parsed into an immutable AST.
/// A list of filters is OR'ed; inside one filter, comma-separated selectors are AND'ed:
/// <code>
/// filter    := "" | selector ("," selector)*
/// selector  := fieldpath [operator value]          (no operator: field present and non-empty)
/// fieldpath := field ("." field)*
/// field     := [A-Za-z0-9_-]+ | quoted
/// operator  := "==" | "!=" | "~="
/// value     := quoted | [^\s,]+                     (bare values may contain '/', so topic==/tasks/exit works)
/// quoted    := '"' ... '"'                          (Go escapes: \" \\ \n \t \xHH \uHHHH \UHHHHHHHH \ooo ...)
///            | '|' ... '|'                          (regex-friendly: only \| is an escape, every other \x stays as written)
/// </code>
/// Known fields (see <see cref="TaskEventFields"/>): <c>topic</c>, <c>namespace</c>, <c>event.container_id</c>,
/// <c>event.id</c>, <c>event.exec_id</c>, <c>event.pid</c>, <c>event.exit_status</c>, <c>event.exited_at</c>; unknown
/// field paths are simply absent. Parse errors are <see cref="ActorRuntime.Protocol.Ttrpc.InvalidArgumentException"/>
/// (gRPC code 3) naming the position and the problem.
/// </summary>
public sealed record EventFilter
{
    /// <summary>Matches every event (no filters given).</summary>
    public static readonly EventFilter Always = new([]);

    public EventFilter(IReadOnlyList<FilterConjunction> alternatives) => Alternatives = [.. alternatives];

    /// <summary>OR'ed alternatives; empty = match all.</summary>
    public IReadOnlyList<FilterConjunction> Alternatives { get; }

    public bool IsAlways => Alternatives.Count == 0 || Alternatives.Any(a => a.Selectors.Count == 0);

    public bool Matches(TaskEvent e)
    {
        if (Alternatives.Count == 0) return true;
        foreach (var a in Alternatives)
        {
            if (a.Matches(e)) return true;
        }
        return false;
    }

    /// <summary>Parses one filter (selectors AND'ed).</summary>
    public static EventFilter Parse(string filter) => new([EventFilterParser.Parse(filter)]);

    /// <summary>Parses a list of filters, OR'ed; an empty list matches everything.</summary>
    public static EventFilter ParseAll(IEnumerable<string>? filters)
    {
        var list = filters?.ToList() ?? [];
        if (list.Count == 0) return Always;
        var alternatives = new List<FilterConjunction>(list.Count);
        for (var i = 0; i < list.Count; i++)
            alternatives.Add(EventFilterParser.Parse(list[i], list.Count > 1 ? i : null));
        return new EventFilter(alternatives);
    }

    public bool Equals(EventFilter? other) => other is not null && Alternatives.SequenceEqual(other.Alternatives);

    public override int GetHashCode() => Alternatives.Aggregate(17, (h, a) => HashCode.Combine(h, a));

    /// <summary>The alternatives as filter strings, e.g. for stats.</summary>
    public IReadOnlyList<string> ToFilterStrings() => Alternatives.Select(a => a.ToString()).ToList();

    public override string ToString() => string.Join(" OR ", Alternatives.Select(a => $"[{a}]"));
}
