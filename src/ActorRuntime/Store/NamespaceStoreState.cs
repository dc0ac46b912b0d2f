using System.Collections.Immutable;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;
using static ActorRuntime.Store.NamespaceStoreProtocol;
using NamespaceDecision = ActorRuntime.Store.Decision<ActorRuntime.Store.NamespaceStoreEvent>;

namespace ActorRuntime.Store;

/// <summary>A namespace and its labels.</summary>
public sealed record NamespaceRecord(string Name, ImmutableSortedDictionary<string, string> Labels)
{
    public static NamespaceRecord Of(string name, IEnumerable<KeyValuePair<string, string>> labels) =>
        new(name, labels.ToImmutableSortedDictionary(StringComparer.Ordinal));
}

/// <summary>What the <see cref="NamespaceStore"/> journals (stored as Contracts/NamespaceContracts.cs).</summary>
public abstract record NamespaceStoreEvent
{
    public sealed record NamespaceCreated(NamespaceRecord Namespace) : NamespaceStoreEvent;

    /// <summary>The namespace as it is after an update (an update also creates one, as containerd's label writes do).</summary>
    public sealed record NamespaceUpdated(NamespaceRecord Namespace) : NamespaceStoreEvent;

    public sealed record NamespaceDeleted(string Name) : NamespaceStoreEvent;
}

/// <summary>The namespace store's state: the namespaces by name.</summary>
public sealed record NamespaceStoreState(ImmutableSortedDictionary<string, NamespaceRecord> Namespaces)
    : IDurableState<NamespaceStoreState, NamespaceStoreEvent>
{
    /// <summary>containerd's limit on a label's key and value together (labels.Validate).</summary>
    public const int MaxLabelSize = 4096;

    public static readonly NamespaceStoreState Empty =
        new(ImmutableSortedDictionary.Create<string, NamespaceRecord>(StringComparer.Ordinal));

    public static NamespaceStoreState Of(IEnumerable<NamespaceRecord> namespaces) =>
        new(namespaces.ToImmutableSortedDictionary(n => n.Name, n => n, StringComparer.Ordinal));

    /// <summary>The event a command leads to and the reply (the namespace as stored, or Failed with containerd's wording).</summary>
    public NamespaceDecision Decide(INamespaceStoreCommand command) => command switch
    {
        Get g when Identifiers.Check(g.Name, "namespace") is { } invalid => Refuse(g.Name, invalid),
        Get g => NamespaceDecision.Respond(Namespaces.GetValueOrDefault(g.Name) ?? NamespaceRecord.Of(g.Name, [])),
        List => NamespaceDecision.Respond(new NamespaceStoreProtocol.Namespaces(Namespaces.Values.ToList())),
        Create c when Identifiers.Check(c.Name, "namespace") is { } invalid => Refuse(c.Name, invalid),
        Create c when CheckLabels(c.Labels) is { } invalid => Refuse(c.Name, invalid),
        Create c when Namespaces.ContainsKey(c.Name) =>
            Refuse(c.Name, new AlreadyExistsException($"namespace \"{c.Name}\": already exists")),
        Create c => Stored(new NamespaceStoreEvent.NamespaceCreated(NamespaceRecord.Of(c.Name, c.Labels))),
        Ensure e when Identifiers.Check(e.Name, "namespace") is { } invalid => Refuse(e.Name, invalid),
        Ensure e when Namespaces.TryGetValue(e.Name, out var existing) => NamespaceDecision.Respond(existing),
        Ensure e => Stored(new NamespaceStoreEvent.NamespaceCreated(NamespaceRecord.Of(e.Name, []))),
        Update u when Identifiers.Check(u.Name, "namespace") is { } invalid => Refuse(u.Name, invalid),
        Update u => Updated(u),
        Delete d when Identifiers.Check(d.Name, "namespace") is { } invalid => Refuse(d.Name, invalid),
        Delete d when !Namespaces.ContainsKey(d.Name) => Refuse(d.Name, new NotFoundException($"namespace \"{d.Name}\": not found")),
        Delete d when d.StillHas.Count > 0 => Refuse(d.Name, new FailedPreconditionException(
            $"namespace \"{d.Name}\" must be empty, but it still has {string.Join(", ", d.StillHas)}: failed precondition")),
        Delete d => NamespaceDecision.Persist(new NamespaceStoreEvent.NamespaceDeleted(d.Name), new Deleted(d.Name)),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command, "not a namespace store command"),
    };

    public NamespaceStoreState Apply(NamespaceStoreEvent evt) => evt switch
    {
        NamespaceStoreEvent.NamespaceCreated c => new(Namespaces.SetItem(c.Namespace.Name, c.Namespace)),
        NamespaceStoreEvent.NamespaceUpdated u => new(Namespaces.SetItem(u.Namespace.Name, u.Namespace)),
        NamespaceStoreEvent.NamespaceDeleted d => new(Namespaces.Remove(d.Name)),
        _ => throw new ArgumentOutOfRangeException(nameof(evt), evt, "not a namespace store event"),
    };

    private NamespaceDecision Updated(Update u)
    {
        var labels = Namespaces.GetValueOrDefault(u.Name)?.Labels ?? ImmutableSortedDictionary.Create<string, string>(StringComparer.Ordinal);
        // No path: the request's labels replace them all (containerd clears the old ones, then sets the new).
        IEnumerable<string> paths = u.Paths.Count == 0 ? ["labels"] : u.Paths;
        foreach (var path in paths)
        {
            if (path == "labels")
            {
                labels = u.Labels.ToImmutableSortedDictionary(StringComparer.Ordinal);
            }
            else if (path.StartsWith("labels.", StringComparison.Ordinal) && path.Length > "labels.".Length)
            {
                var key = path["labels.".Length..];
                labels = u.Labels.TryGetValue(key, out var value) ? labels.SetItem(key, value) : labels.Remove(key);
            }
            else
            {
                return Refuse(u.Name, new InvalidArgumentException(
                    $"cannot update \"{path}\" field on namespace \"{u.Name}\": invalid argument"));
            }
        }
        if (CheckLabels(labels) is { } invalid) return Refuse(u.Name, invalid);
        return Stored(new NamespaceStoreEvent.NamespaceUpdated(new NamespaceRecord(u.Name, labels)));
    }

    /// <summary>containerd's label rule (labels.Validate), for every store that keeps labels.</summary>
    internal static InvalidArgumentException? CheckLabels(IEnumerable<KeyValuePair<string, string>> labels)
    {
        foreach (var (key, value) in labels)
        {
            if (key.Length == 0)
                return new InvalidArgumentException("label key must not be empty: invalid argument");
            if (key.Length + value.Length > MaxLabelSize)
            {
                return new InvalidArgumentException(
                    $"label key and value greater than maximum size ({MaxLabelSize} bytes), key: {key[..Math.Min(key.Length, 64)]}: invalid argument");
            }
        }
        return null;
    }

    // The sender gets the namespace as stored once its event is durable.
    private static NamespaceDecision Stored(NamespaceStoreEvent.NamespaceCreated e) => NamespaceDecision.Persist(e, e.Namespace);

    private static NamespaceDecision Stored(NamespaceStoreEvent.NamespaceUpdated e) => NamespaceDecision.Persist(e, e.Namespace);

    private static NamespaceDecision Refuse(string name, TtrpcException e) =>
        NamespaceDecision.Respond(new TaskProtocol.Failed(name, e.Code, e.Message));
}
