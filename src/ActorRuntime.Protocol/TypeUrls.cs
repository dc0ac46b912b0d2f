using ActorRuntime.Protocol.Events;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ActorRuntime.Protocol;

/// <summary>
/// Any values exchanged with the shim use bare type URLs (no "type.googleapis.com/" prefix), matched as exact strings,
/// so Any.Pack/Unpack/Is cannot be used. Pack and unpack go through here.
/// </summary>
public static class TypeUrls
{
    public const string RuncOptions = "containerd.runc.v1.Options";
    public const string RuncCheckpointOptions = "containerd.runc.v1.CheckpointOptions";
    public const string RuncProcessDetails = "containerd.runc.v1.ProcessDetails";
    public const string CgroupsV1Metrics = "io.containerd.cgroups.v1.Metrics";
    public const string CgroupsV2Metrics = "io.containerd.cgroups.v2.Metrics";
    public const string OciSpec = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
    public const string OciProcess = "types.containerd.io/opencontainers/runtime-spec/1/Process";
    public const string OciLinuxResources = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";

    /// <summary>Packs with the message's full proto name as the bare type URL.</summary>
    public static Any Pack(IMessage message) =>
        new() { TypeUrl = message.Descriptor.FullName, Value = message.ToByteString() };

    /// <summary>Packs a JSON document (OCI process or resources) the way containerd does.</summary>
    public static Any PackJson(string typeUrl, string json) =>
        new() { TypeUrl = typeUrl, Value = ByteString.CopyFromUtf8(json) };

    public static bool Is<T>(Any any) where T : IMessage<T>, new() =>
        any.TypeUrl == new T().Descriptor.FullName;

    /// <summary>Unpacks when the bare type URL names <typeparamref name="T"/>; the prefixed form is accepted too.</summary>
    public static bool TryUnpack<T>(Any? any, MessageParser<T> parser, out T message) where T : IMessage<T>, new()
    {
        message = default!;
        if (any is null) return false;
        if (BareName(any.TypeUrl) != new T().Descriptor.FullName) return false;
        message = parser.ParseFrom(any.Value);
        return true;
    }

    /// <summary>The message name of a type URL: the part after the last '/', or the whole URL when it is bare.</summary>
    public static string BareName(string typeUrl) => typeUrl[(typeUrl.LastIndexOf('/') + 1)..];

    /// <summary>
    /// Decodes a task event by its bare type URL (a prefixed URL is accepted too, like <see cref="TryUnpack{T}"/>);
    /// null for a type we do not know.
    /// </summary>
    public static IMessage? UnpackTaskEvent(Any any) => BareName(any.TypeUrl) switch
    {
        "containerd.events.TaskCreate" => TaskCreate.Parser.ParseFrom(any.Value),
        "containerd.events.TaskStart" => TaskStart.Parser.ParseFrom(any.Value),
        "containerd.events.TaskExit" => TaskExit.Parser.ParseFrom(any.Value),
        "containerd.events.TaskDelete" => TaskDelete.Parser.ParseFrom(any.Value),
        "containerd.events.TaskOOM" => TaskOOM.Parser.ParseFrom(any.Value),
        "containerd.events.TaskExecAdded" => TaskExecAdded.Parser.ParseFrom(any.Value),
        "containerd.events.TaskExecStarted" => TaskExecStarted.Parser.ParseFrom(any.Value),
        "containerd.events.TaskPaused" => TaskPaused.Parser.ParseFrom(any.Value),
        "containerd.events.TaskResumed" => TaskResumed.Parser.ParseFrom(any.Value),
        "containerd.events.TaskCheckpointed" => TaskCheckpointed.Parser.ParseFrom(any.Value),
        _ => null,
    };
}

/// <summary>Go's zero time as the shim writes it (0001-01-01, never omitted); an empty Timestamp would read as 1970.</summary>
public static class GoTime
{
    public const long ZeroSeconds = -62135596800;

    public static Timestamp Zero => new() { Seconds = ZeroSeconds };

    public static bool IsZero(Timestamp? t) => t is null || t.Seconds == ZeroSeconds && t.Nanos == 0;

    public static Timestamp From(DateTimeOffset? time) =>
        time is { } t ? Timestamp.FromDateTimeOffset(t) : Zero;

    public static DateTimeOffset? ToDateTimeOffset(Timestamp? t) => IsZero(t) ? null : t!.ToDateTimeOffset();
}
