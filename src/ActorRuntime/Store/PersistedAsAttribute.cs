using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Shims;
using ActorRuntime.Tasks;
namespace ActorRuntime.Store;

/// <summary>
/// Marks a type written to the journal or a snapshot. Its manifest is the stable name given here — never the CLR
/// type name — so renaming or moving a class never breaks data already stored. Bump the suffix (-v2) for an
/// incompatible shape and keep reading the old one.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class PersistedAsAttribute(string manifest) : Attribute
{
    public string Manifest { get; } = manifest;
}

/// <summary>Everything the runtime persists; bound to the runtime's own serializer.</summary>
public interface IPersisted;
