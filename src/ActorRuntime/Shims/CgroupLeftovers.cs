using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.Shims;

/// <summary>
/// The cgroup directories runc makes for a container outlive it when <c>runc create</c> is cut short (its shim killed
/// mid-create, before runc wrote the state its <c>delete</c> works from). Once the shim binary's delete has run, the
/// cleanup removes those that are left and empty, under every hierarchy (cgroup v1) or the unified tree (v2). A
/// directory that still holds a process is not empty, and rmdir leaves it; only a spec's absolute <c>linux.cgroupsPath</c>
/// ending in the container's id is handled (the systemd <c>slice:prefix:name</c> form belongs to systemd).
/// </summary>
internal static class CgroupLeftovers
{
    public const string DefaultRoot = "/sys/fs/cgroup";

    /// <summary>Removes what is left of <paramref name="bundle"/>'s container cgroups; returns the directories removed.</summary>
    public static IReadOnlyList<string> RemoveEmpty(Bundle bundle, ILogger logger, string root = DefaultRoot)
    {
        if (CgroupsPathOf(bundle) is not { } relative) return [];
        var removed = new List<string>();
        var hierarchies = File.Exists(Path.Combine(root, "cgroup.controllers"))
            ? [root]
            : Directory.Exists(root) ? Directory.EnumerateDirectories(root).Where(d => new DirectoryInfo(d).LinkTarget is null) : [];
        foreach (var hierarchy in hierarchies)
        {
            var dir = Path.Combine(hierarchy, relative);
            if (!Directory.Exists(dir)) continue;
            // Deepest first: a container may have made child cgroups of its own.
            foreach (var d in Directory.EnumerateDirectories(dir, "*", SearchOption.AllDirectories).Append(dir).OrderByDescending(d => d.Length))
            {
                try
                {
                    Directory.Delete(d);
                    removed.Add(d);
                }
                catch (IOException e)
                {
                    logger.LogWarning("cleanup of {Bundle}: cgroup {Cgroup} left in place: {Error}", bundle, d, e.Message);
                }
            }
        }
        return removed;
    }

    /// <summary>
    /// The spec's <c>linux.cgroupsPath</c> relative to a hierarchy: only an absolute path with no "..", whose last element
    /// is the container's id (a path shared with others, such as the namespace's, is never touched).
    /// </summary>
    internal static string? CgroupsPathOf(Bundle bundle)
    {
        try
        {
            var path = JsonNode.Parse(File.ReadAllText(bundle.ConfigPath))?["linux"]?["cgroupsPath"]?.GetValue<string>();
            if (path is null || !path.StartsWith('/') || path.Split('/').Any(p => p == "..")) return null;
            var relative = path.TrimStart('/');
            return relative.Length > 0 && Path.GetFileName(relative) == bundle.Id ? relative : null;
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or InvalidOperationException)
        {
            return null;
        }
    }
}
