using System.Text.Json.Nodes;
using ActorRuntime.Protocol;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ActorRuntime.Client;

/// <summary>
/// Who owns a process's stdio, as moby's libcontainerd decides it (getSpecUser): the user of the OCI process. The client
/// makes the FIFOs that user's, and tells the shim (runc options' IoUid/IoGid) so the pipes it gives the process are too;
/// otherwise a process that is not root cannot reopen its own stdout (<c>echo &gt; /dev/stdout</c>).
/// </summary>
internal static class IoOwner
{
    /// <summary>The uid and gid of an OCI process object (a container spec's "process", or an exec's spec).</summary>
    public static (uint Uid, uint Gid) Of(JsonNode? process) =>
        (process?["user"]?["uid"]?.GetValue<uint>() ?? 0, process?["user"]?["gid"]?.GetValue<uint>() ?? 0);

    /// <summary>The user of a container spec's process.</summary>
    public static (uint Uid, uint Gid) OfContainerSpec(string specJson) => Of(JsonNode.Parse(specJson)?["process"]);

    /// <summary>
    /// The task's options: the container's runc options with the IO owner (moby sets IoUid/IoGid on every start) and, for a
    /// restore, the checkpoint image directory; another runtime's options go as they are.
    /// </summary>
    public static Any TaskOptions(RuntimeOptions? container, (uint Uid, uint Gid) owner, string? checkpointDirectory)
    {
        var any = container is null ? null : new Any { TypeUrl = container.TypeUrl, Value = ByteString.CopyFrom(container.Value) };
        if (any is not null && TypeUrls.BareName(any.TypeUrl) != TypeUrls.RuncOptions) return any;
        var options = any is null ? new Protocol.Runc.Options() : Protocol.Runc.Options.Parser.ParseFrom(any.Value);
        options.IoUid = owner.Uid;
        options.IoGid = owner.Gid;
        if (checkpointDirectory is not null) options.CriuImagePath = Path.GetFullPath(checkpointDirectory);
        return TypeUrls.Pack(options);
    }
}
