using System.Text.RegularExpressions;
using ActorRuntime.Protocol.Ttrpc;

namespace ActorRuntime;

/// <summary>
/// containerd's identifier rule: alphanumerics separated by single '.', '_' or '-', at most 76 characters.
/// Every namespace, container id and exec id is checked here before it becomes part of a path.
/// </summary>
public static partial class Identifiers
{
    public const int MaxLength = 76;

    [GeneratedRegex(@"^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$", RegexOptions.CultureInvariant)]
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
                $"{what} \"{id}\" greater than maximum length ({MaxLength} characters): invalid argument");
        if (!Pattern().IsMatch(id))
            return new InvalidArgumentException($"{what} \"{id}\" must match {Pattern()}: invalid argument");
        return null;
    }
}
