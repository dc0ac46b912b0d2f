namespace ActorRuntime.Containers;

/// <summary>
/// What names a container across the runtime: the same id may exist in two namespaces. Ordered by namespace, then id
/// (ordinal), so listings come out the same way every time.
/// </summary>
public readonly record struct ContainerKey(string Namespace, string Id) : IComparable<ContainerKey>
{
    public int CompareTo(ContainerKey other)
    {
        var byNamespace = string.CompareOrdinal(Namespace, other.Namespace);
        return byNamespace != 0 ? byNamespace : string.CompareOrdinal(Id, other.Id);
    }

    public override string ToString() => $"{Namespace}/{Id}";
}
