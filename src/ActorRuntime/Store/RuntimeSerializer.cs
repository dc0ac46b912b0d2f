using System.Reflection;
using System.Runtime.Serialization;
using System.Text.Json;
using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Shims;
using ActorRuntime.Tasks;
using Akka.Actor;
using Akka.Serialization;

namespace ActorRuntime.Store;

/// <summary>
/// Serializer for everything <see cref="IPersisted"/>: the manifest is the type's <see cref="PersistedAsAttribute"/> name
/// (never the CLR name, so types can be renamed or moved), the payload System.Text.Json (camelCase, properties in
/// declaration order, computed get-only properties left out). An unknown manifest is a <see cref="SerializationException"/>.
/// Bound in hocon/actorruntime.conf (<c>akka.actor.serialization-bindings</c>).
/// </summary>
public sealed class RuntimeSerializer : SerializerWithStringManifest
{
    /// <summary>Serializer id written to the journal's <c>identifier</c> / snapshot's <c>serializer_id</c> column.</summary>
    public const int Id = 7431;

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        IgnoreReadOnlyProperties = true,
        WriteIndented = false,
    };

    private readonly Dictionary<string, Type> _types = new(StringComparer.Ordinal);
    private readonly Dictionary<Type, string> _manifests = new();

    /// <summary>Used by Akka: every <see cref="IPersisted"/> type with <see cref="PersistedAsAttribute"/> in ActorRuntime.</summary>
    public RuntimeSerializer(ExtendedActorSystem system)
        : this(system, Discover(typeof(RuntimeSerializer).Assembly))
    {
    }

    /// <summary>An explicit set of types (each needs <see cref="PersistedAsAttribute"/>); a manifest used twice is an error.</summary>
    public RuntimeSerializer(ExtendedActorSystem system, IEnumerable<Type> types)
        : base(system)
    {
        foreach (var type in types)
        {
            var manifest = type.GetCustomAttribute<PersistedAsAttribute>()?.Manifest
                ?? throw new ArgumentException($"{type.FullName} has no [PersistedAs] attribute");
            if (string.IsNullOrWhiteSpace(manifest))
                throw new ArgumentException($"{type.FullName}: [PersistedAs] manifest is empty");
            if (_types.TryGetValue(manifest, out var other) && other != type)
                throw new ArgumentException($"manifest \"{manifest}\" is used by both {other.FullName} and {type.FullName}");
            _types[manifest] = type;
            _manifests[type] = manifest;
        }
    }

    public override int Identifier => Id;

    /// <summary>Manifest → type, as discovered.</summary>
    public IReadOnlyDictionary<string, Type> Types => _types;

    /// <summary><see cref="IPersisted"/> types carrying <see cref="PersistedAsAttribute"/> in <paramref name="assembly"/>.</summary>
    public static IEnumerable<Type> Discover(Assembly assembly) =>
        assembly.GetTypes().Where(t =>
            t is { IsAbstract: false, IsGenericTypeDefinition: false }
            && typeof(IPersisted).IsAssignableFrom(t)
            && t.GetCustomAttribute<PersistedAsAttribute>() is not null);

    public override string Manifest(object o) =>
        _manifests.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new SerializationException(
                $"{o.GetType().FullName} is not known to {nameof(RuntimeSerializer)}: give it [PersistedAs(\"...\")] and implement IPersisted");

    public override byte[] ToBinary(object obj)
    {
        Manifest(obj); // reject unregistered types before writing anything
        return JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Json);
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!_types.TryGetValue(manifest, out var type))
        {
            throw new SerializationException(
                $"{nameof(RuntimeSerializer)}: unknown manifest \"{manifest}\" (known: {string.Join(", ", _types.Keys.Order())})");
        }
        try
        {
            return JsonSerializer.Deserialize(bytes, type, Json)
                ?? throw new SerializationException($"{nameof(RuntimeSerializer)}: \"{manifest}\" payload is null");
        }
        catch (JsonException ex)
        {
            throw new SerializationException($"{nameof(RuntimeSerializer)}: cannot read \"{manifest}\" as {type.Name}: {ex.Message}", ex);
        }
    }
}
