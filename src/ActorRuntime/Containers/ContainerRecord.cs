using System.Collections.Immutable;
using ActorRuntime.Shims;
using ActorRuntime.Tasks;

namespace ActorRuntime.Containers;

/// <summary>
/// A container's metadata as containerd's containers service keeps it: the OCI spec, which runtime runs it and with
/// what options, labels, and when it was created and last updated. Independent of whether a task runs.
/// </summary>
public sealed record ContainerRecord(
    string Namespace,
    string Id,
    string SpecJson,
    string RuntimeName,
    byte[]? RuntimeOptions,
    ImmutableSortedDictionary<string, string> Labels,
    string Image,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public const string DefaultRuntime = "io.containerd.runc.v2";

    public bool Equals(ContainerRecord? other) =>
        other is not null && Namespace == other.Namespace && Id == other.Id && SpecJson == other.SpecJson &&
        RuntimeName == other.RuntimeName && Image == other.Image && CreatedAt == other.CreatedAt &&
        UpdatedAt == other.UpdatedAt && Labels.SequenceEqual(other.Labels) &&
        (RuntimeOptions ?? []).AsSpan().SequenceEqual(other.RuntimeOptions ?? []);

    public override int GetHashCode() => HashCode.Combine(Namespace, Id, UpdatedAt);
}
