using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Cluster.Sharding;

namespace ActorRuntime.Cluster;

/// <summary>
/// Entity ids of the "containers" shard region: "&lt;node&gt;~&lt;namespace&gt;/&lt;container&gt;" for a container, "&lt;node&gt;~" for
/// the node's commands that name no container (a list, a namespace). containerd's identifier rule allows neither '~' nor
/// '/' in a node, namespace or container name, so the parts always come back apart.
/// </summary>
public static class ContainerEntityIds
{
    private const char NodeEnd = '~';
    private const char NamespaceEnd = '/';

    public static string Container(string node, string ns, string id) => $"{node}{NodeEnd}{ns}{NamespaceEnd}{id}";

    public static string Node(string node) => node + NodeEnd;

    /// <summary>The node a shard or entity id belongs to: the shard id, pinned to the member with role node-&lt;node&gt;.</summary>
    public static string NodeOf(string entityId)
    {
        var end = entityId.IndexOf(NodeEnd);
        return end > 0 ? entityId[..end] : throw new ArgumentException($"\"{entityId}\" is not a container entity id (<node>~...)");
    }

    /// <summary>The namespace and container of an entity id; null for the node's own entity.</summary>
    public static (string Namespace, string Id)? ContainerOfEntity(string entityId)
    {
        var rest = entityId[(NodeOf(entityId).Length + 1)..];
        var slash = rest.IndexOf(NamespaceEnd);
        return slash < 0 ? null : (rest[..slash], rest[(slash + 1)..]);
    }

    /// <summary>The entity a runtime command for <paramref name="node"/> goes through: the container's when it names one.</summary>
    public static string For(string node, object command) =>
        ContainerOf(command) is { } c ? Container(node, c.Namespace, c.Id) : Node(node);

    /// <summary>The container a runtime command is about; null for the node's commands (lists, namespaces, the bus).</summary>
    public static (string Namespace, string Id)? ContainerOf(object command) => command switch
    {
        TaskProtocol.InNamespace c => (c.Namespace, c.Command.ContainerId),
        ContainerStoreProtocol.Create c => (c.Container.Namespace, c.Container.Id),
        ContainerStoreProtocol.Get c => (c.Namespace, c.Id),
        ContainerStoreProtocol.Update c => (c.Namespace, c.Id),
        ContainerStoreProtocol.Delete c => (c.Namespace, c.Id),
        _ => null,
    };
}

/// <summary>Shard id = the node's name, so the pinned allocation strategy can place each shard on its node.</summary>
public sealed class ContainerMessageExtractor : IMessageExtractor
{
    public string? EntityId(object message) => (message as ContainerEntityProtocol.Route)?.EntityId;

    public object? EntityMessage(object message) => message as ContainerEntityProtocol.Route;

    public string? ShardId(object message) => message is ContainerEntityProtocol.Route route ? ContainerEntityIds.NodeOf(route.EntityId) : null;

    // What a remembered entity restarts through (sharding's StartEntity carries only the entity id).
    public string ShardId(string entityId, object? messageHint = null) => ContainerEntityIds.NodeOf(entityId);
}
