using System.Globalization;
using System.Text;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;

namespace ActorRuntime.Events;

/// <summary>
/// Recursive-descent parser for one filter string (see <see cref="EventFilter"/> for the grammar).
/// Errors name the character position (0-based) and mark it containerd-style: <c>[before &gt;|x|&lt; after]</c>.
/// </summary>
internal sealed class EventFilterParser
{
    private readonly string _input;
    private readonly int? _index;
    private int _pos;

    private EventFilterParser(string input, int? index)
    {
        _input = input;
        _index = index;
    }

    public static FilterConjunction Parse(string? filter, int? index = null)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var parser = new EventFilterParser(filter, index);
        return parser.Selectors();
    }

    internal static bool IsFieldChar(char c) => c is '-' or '_' or (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9');

    internal static bool IsPlainField(string s) => s.Length > 0 && s.All(IsFieldChar);

    /// <summary>Double-quotes s with Go-style escapes (used for canonical ToString output).</summary>
    internal static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (char.IsControl(c)) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    private FilterConjunction Selectors()
    {
        SkipSpace();
        if (AtEnd) return new FilterConjunction([]); // containerd: the empty filter matches everything
        var selectors = new List<FilterSelector> { Selector() };
        while (true)
        {
            SkipSpace();
            if (AtEnd) break;
            if (Current != ',')
                throw Error(_pos, $"unexpected input '{Current}', expected ',' or end of filter");
            _pos++;
            selectors.Add(Selector());
        }
        return new FilterConjunction(selectors);
    }

    private FilterSelector Selector()
    {
        var path = FieldPath();
        SkipSpace();
        if (AtEnd || Current == ',')
            return new FilterSelector(path, FilterOperator.Present);

        var op = Operator();
        SkipSpace();
        var valueStart = _pos;
        var value = Value();
        try
        {
            return new FilterSelector(path, op, value);
        }
        catch (ArgumentException ex)
        {
            throw Error(valueStart, $"invalid regular expression: {ex.Message}");
        }
    }

    private List<string> FieldPath()
    {
        var fields = new List<string> { Field() };
        while (!AtEnd && Current == '.')
        {
            _pos++;
            fields.Add(Field());
        }
        return fields;
    }

    private string Field()
    {
        SkipSpace();
        if (AtEnd)
            throw Error(_pos, "expected field or quoted, found end of filter");
        if (Current is '"' or '|')
            return Quoted();
        var start = _pos;
        while (!AtEnd && IsFieldChar(Current)) _pos++;
        if (_pos == start)
            throw Error(start, $"expected field or quoted, found '{Current}'");
        return _input[start.._pos];
    }

    private FilterOperator Operator()
    {
        var start = _pos;
        while (!AtEnd && Current is '=' or '!' or '~') _pos++;
        if (_pos == start)
            throw Error(start, $"expected an operator (\"==\"|\"!=\"|\"~=\"), found '{Current}'");
        return _input[start.._pos] switch
        {
            "==" => FilterOperator.Equal,
            "!=" => FilterOperator.NotEqual,
            "~=" => FilterOperator.Matches,
            var other => throw Error(start, $"unsupported operator \"{other}\", expected \"==\", \"!=\" or \"~=\""),
        };
    }

    private string Value()
    {
        if (AtEnd)
            throw Error(_pos, "expected value or quoted, found end of filter");
        if (Current is '"' or '|')
            return Quoted();
        var start = _pos;
        while (!AtEnd && Current != ',' && !char.IsWhiteSpace(Current)) _pos++;
        if (_pos == start)
            throw Error(start, $"expected value or quoted, found '{Current}'");
        return _input[start.._pos];
    }

    private string Quoted()
    {
        var open = _pos;
        var quote = _input[_pos++];
        var sb = new StringBuilder();
        while (true)
        {
            if (AtEnd || Current == '\n')
                throw Error(open, $"quoted literal not terminated (opened with {quote})");
            var c = _input[_pos];
            if (c == quote)
            {
                _pos++;
                return sb.ToString();
            }
            if (c != '\\')
            {
                sb.Append(c);
                _pos++;
                continue;
            }
            if (quote == '|')
                PipeEscape(sb);
            else
                GoEscape(sb, quote);
        }
    }

    /// <summary>In |...| only \| is an escape; \\ is kept as a pair and anything else verbatim, so regexes need no doubling.</summary>
    private void PipeEscape(StringBuilder sb)
    {
        var next = _pos + 1 < _input.Length ? _input[_pos + 1] : '\0';
        if (next == '|')
        {
            sb.Append('|');
            _pos += 2;
        }
        else if (next == '\\')
        {
            sb.Append("\\\\");
            _pos += 2;
        }
        else
        {
            sb.Append('\\');
            _pos++;
        }
    }

    private void GoEscape(StringBuilder sb, char quote)
    {
        var at = _pos;
        _pos++; // the backslash
        if (AtEnd)
            throw Error(at, "quoted literal not terminated (escape at end)");
        var c = _input[_pos++];
        switch (c)
        {
            case 'a': sb.Append('\a'); return;
            case 'b': sb.Append('\b'); return;
            case 'f': sb.Append('\f'); return;
            case 'n': sb.Append('\n'); return;
            case 'r': sb.Append('\r'); return;
            case 't': sb.Append('\t'); return;
            case 'v': sb.Append('\v'); return;
            case '\\': sb.Append('\\'); return;
            case 'x': sb.Append((char)Digits(at, 16, 2)); return;
            case 'u': AppendCodePoint(sb, Digits(at, 16, 4), at); return;
            case 'U': AppendCodePoint(sb, Digits(at, 16, 8), at); return;
            case >= '0' and <= '7':
                _pos--;
                var v = Digits(at, 8, 3);
                if (v > 255) throw Error(at, "octal escape value > 255");
                sb.Append((char)v);
                return;
            default:
                if (c == quote)
                {
                    sb.Append(c);
                    return;
                }
                throw Error(at, $"illegal escape sequence \\{c}");
        }
    }

    private long Digits(int at, int radix, int count)
    {
        var value = 0L;
        for (var i = 0; i < count; i++)
        {
            if (AtEnd)
                throw Error(at, "illegal numeric escape sequence (too short)");
            var d = HexValue(_input[_pos]);
            if (d >= radix)
                throw Error(at, $"illegal numeric escape sequence (bad digit '{_input[_pos]}')");
            value = value * radix + d;
            _pos++;
        }
        return value;
    }

    private void AppendCodePoint(StringBuilder sb, long cp, int at)
    {
        if (cp is > 0x10FFFF or (>= 0xD800 and <= 0xDFFF))
            throw Error(at, $"escape \\U{cp:x8} is not a valid code point");
        sb.Append(char.ConvertFromUtf32((int)cp));
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => 99,
    };

    private bool AtEnd => _pos >= _input.Length;

    private char Current => _input[_pos];

    private void SkipSpace()
    {
        while (!AtEnd && char.IsWhiteSpace(Current)) _pos++;
    }

    private InvalidArgumentException Error(int pos, string message)
    {
        var which = _index is { } i ? $"filter {i}: " : "";
        string marked;
        if (pos < _input.Length)
            marked = $"[{_input[..pos]} >|{_input[pos]}|< {_input[(pos + 1)..]}]";
        else
            marked = $"[{_input} >||<]";
        return new InvalidArgumentException(
            $"filters: {which}parse error at position {pos}: {message}: {marked}: invalid argument");
    }
}
