using Akka.Cluster;

namespace ActorRuntime.Cluster;

/// <summary>
/// Whether a node can be asked now, read from the cluster's membership: a command for a node that is not a reachable Up
/// member fails at once with Unavailable naming the node, instead of waiting in the shard region's buffer until its deadline.
/// </summary>
public static class NodeReachability
{
    /// <summary>Why <paramref name="node"/> cannot be asked now; null when it can.</summary>
    public static string? Unavailable(string node, ClusterEvent.CurrentClusterState state)
    {
        var role = ClusterSettings.RoleOf(node);
        var member = state.Members.FirstOrDefault(m => m.HasRole(role));
        if (member is null) return $"node {node} is not a member of the cluster";
        if (state.Unreachable.Contains(member)) return $"node {node} is unreachable";
        return member.Status is MemberStatus.Up or MemberStatus.WeaklyUp
            ? null
            : $"node {node} is {member.Status.ToString().ToLowerInvariant()}";
    }

    /// <summary>The nodes a container can be placed on: reachable Up members with a node role.</summary>
    public static IReadOnlyList<string> UpNodes(ClusterEvent.CurrentClusterState state) =>
        state.Members.Where(m => m.Status == MemberStatus.Up && !state.Unreachable.Contains(m))
            .SelectMany(m => m.Roles).Where(r => r.StartsWith(ClusterSettings.RolePrefix, StringComparison.Ordinal))
            .Select(r => r[ClusterSettings.RolePrefix.Length..]).ToList();
}
