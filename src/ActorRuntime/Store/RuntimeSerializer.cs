using System.Runtime.Serialization;
using System.Text;
using System.Text.Json;
using ActorRuntime.Configuration;
using ActorRuntime.Store.Contracts;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;

namespace ActorRuntime.Store;

/// <summary>
/// The one serializer of everything the runtime persists. Actors hand it domain records; it maps each to its contract
/// through <see cref="RuntimeFormats"/> and writes the contract as System.Text.Json (camelCase) under the contract's
/// manifest — never a CLR name, so domain types can be renamed or reshaped freely. Reading maps a manifest's contract back
/// to the domain (legacy manifests upcast). Anything unknown is a <see cref="SerializationException"/>. Bound to the
/// domain types by <see cref="Configuration"/>.
/// </summary>
public sealed class RuntimeSerializer : SerializerWithStringManifest
{
    /// <summary>Serializer id written to the journal's <c>identifier</c> / snapshot's <c>serializer_id</c> column.</summary>
    public const int Id = 7431;

    public const string Name = "actor-runtime";

    // A row missing a member, or null where the contract says non-null, is refused rather than read into a half-empty record.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    /// <summary>Used by Akka: the runtime's own formats.</summary>
    public RuntimeSerializer(ExtendedActorSystem system)
        : this(system, RuntimeFormats.All)
    {
    }

    public RuntimeSerializer(ExtendedActorSystem system, PersistedFormats formats)
        : base(system) =>
        Formats = formats;

    public override int Identifier => Id;

    public PersistedFormats Formats { get; }

    /// <summary>
    /// <c>akka.actor</c> serializer, identifier and a serialization binding for every domain type <paramref name="formats"/>
    /// write, so the bindings can never miss a persisted type.
    /// </summary>
    public static Config Configuration(PersistedFormats formats)
    {
        var self = Hocon.Quote(typeof(RuntimeSerializer).AssemblyQualifiedNameWithoutVersion());
        var sb = new StringBuilder();
        sb.AppendLine("akka.actor {");
        sb.AppendLine($"  serializers.{Name} = {self}");
        sb.AppendLine($"  serialization-identifiers {{ {self} = {Id} }}");
        sb.AppendLine("  serialization-bindings {");
        foreach (var type in formats.WrittenTypes.OrderBy(t => t.FullName, StringComparer.Ordinal))
            sb.AppendLine($"    {Hocon.Quote(type.AssemblyQualifiedNameWithoutVersion())} = {Name}");
        sb.AppendLine("  }");
        sb.AppendLine("}");
        return ConfigurationFactory.ParseString(sb.ToString());
    }

    public override string Manifest(object o) => WriterFor(o).Manifest;

    public override byte[] ToBinary(object obj)
    {
        var format = WriterFor(obj);
        return JsonSerializer.SerializeToUtf8Bytes(format.ToContract(obj), format.Contract, Json);
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        var format = Formats.ReaderFor(manifest) ?? throw new SerializationException(
            $"{nameof(RuntimeSerializer)}: unknown manifest \"{manifest}\" (known: {string.Join(", ", Formats.Manifests)})");
        try
        {
            var contract = JsonSerializer.Deserialize(bytes, format.Contract, Json)
                ?? throw new SerializationException($"{nameof(RuntimeSerializer)}: \"{manifest}\" payload is null");
            return format.ToDomain(contract);
        }
        catch (Exception ex) when (ex is JsonException or FormatException)
        {
            // A row that does not fit its contract, or a value the domain cannot take: say which manifest.
            throw new SerializationException(
                $"{nameof(RuntimeSerializer)}: cannot read \"{manifest}\" as {format.Contract.Name}: {ex.Message}", ex);
        }
    }

    private PersistedFormat WriterFor(object o) =>
        Formats.WriterFor(o.GetType()) ?? throw new SerializationException(
            $"{o.GetType().FullName} is not known to {nameof(RuntimeSerializer)}: add a format for it to {nameof(RuntimeFormats)}");
}
