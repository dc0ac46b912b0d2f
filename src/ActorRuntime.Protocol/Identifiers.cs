using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using ActorRuntime.Protocol.Ttrpc;

// The rule is the runtime's, hence the namespace; it lives in this assembly so the wire layer applies the same one to
// what shims forward (EventsForwarding), and ActorRuntime references this assembly.
namespace ActorRuntime;

/// <summary>
/// containerd's identifier rule (identifiers.Validate): ASCII letters and digits, in runs separated by single '.', '_' or
/// '-', at most 76 characters. Every namespace, container id and exec id is checked here before it becomes part of a
/// path, and so is every namespace and topic component a shim forwards.
/// </summary>
public static partial class Identifiers
{
    public const int MaxLength = 76;

    /// <summary>The rule as containerd's errors print it.</summary>
    public const string Rule = "^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$";

    // Rule with \z for Go's $: in .NET, $ also matches before a final '\n', which would let "id\n" through.
    [GeneratedRegex(@"^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static bool IsValid(string? id) => !string.IsNullOrEmpty(id) && id.Length <= MaxLength && Pattern().IsMatch(id);

    /// <summary>Throws InvalidArgument naming the problem, in containerd's words.</summary>
    public static string Validate(string? id, string what = "identifier") => Check(id, what) is { } e ? throw e : id!;

    /// <summary>The InvalidArgument error for a bad identifier, or null when it is valid.</summary>
    public static InvalidArgumentException? Check(string? id, string what = "identifier")
    {
        if (string.IsNullOrEmpty(id))
            return new InvalidArgumentException($"{what} must not be empty: invalid argument");
        if (id.Length > MaxLength)
            return new InvalidArgumentException(
                $"{what} {Quote(id)} greater than maximum length ({MaxLength} characters): invalid argument");
        if (!Pattern().IsMatch(id))
            return new InvalidArgumentException($"{what} {Quote(id)} must match {Rule}: invalid argument");
        return null;
    }

    /// <summary>
    /// Go's %q: in double quotes, with control and other invisible characters escaped, so a hostile id cannot break a
    /// log line or hide inside the message (a NUL, a newline at the end).
    /// </summary>
    private static string Quote(string id)
    {
        var quoted = new StringBuilder(id.Length + 2).Append('"');
        foreach (var rune in id.EnumerateRunes())
        {
            switch (rune.Value)
            {
                case '"': quoted.Append("\\\""); break;
                case '\\': quoted.Append("\\\\"); break;
                case '\n': quoted.Append("\\n"); break;
                case '\r': quoted.Append("\\r"); break;
                case '\t': quoted.Append("\\t"); break;
                case < 0x20 or 0x7f: quoted.Append(CultureInfo.InvariantCulture, $"\\x{rune.Value:x2}"); break;
                default:
                    if (IsVisible(rune)) quoted.Append(rune.ToString());
                    else if (rune.IsBmp) quoted.Append(CultureInfo.InvariantCulture, $"\\u{rune.Value:x4}");
                    else quoted.Append(CultureInfo.InvariantCulture, $"\\U{rune.Value:x8}");
                    break;
            }
        }
        return quoted.Append('"').ToString();
    }

    private static bool IsVisible(Rune rune) => Rune.GetUnicodeCategory(rune) is not (UnicodeCategory.Control
        or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
        or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned);
}
