using ActorRuntime.Protocol.Ttrpc;

namespace ActorRuntime.Daemon.Services;

/// <summary>
/// The one part of containerd's filter syntax we serve: <c>id==&lt;id&gt;</c> (what ctr and dockerd send to Metrics);
/// any other filter is refused, never ignored. Filters are alternatives: an item matches if any one does.
/// </summary>
internal static class Filters
{
    /// <summary>Null for no filter (everything matches), else the ids named.</summary>
    public static IReadOnlySet<string>? Ids(IEnumerable<string> filters, string what)
    {
        var given = filters.Where(f => f.Length > 0).ToList();
        if (given.Count == 0) return null;
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var filter in given)
        {
            var id = filter.StartsWith("id==", StringComparison.Ordinal) ? filter["id==".Length..].Trim('"') : null;
            if (string.IsNullOrEmpty(id) || id.Contains(',') || id.Contains("=="))
                throw new InvalidArgumentException($"{what} filter \"{filter}\" is not supported (only id==<id> is): invalid argument");
            ids.Add(id);
        }
        return ids;
    }

    /// <summary>Refuses any filter where none is served.</summary>
    public static void None(IEnumerable<string> filters, string what)
    {
        var given = filters.FirstOrDefault(f => f.Length > 0);
        if (given is not null)
            throw new InvalidArgumentException($"{what} filters are not supported (got \"{given}\"): invalid argument");
    }
}
