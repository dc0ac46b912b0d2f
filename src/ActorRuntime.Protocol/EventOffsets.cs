namespace ActorRuntime.Protocol;

/// <summary>
/// actorruntimed's extension of containerd's Events/Subscribe for hosts that resume: each Envelope carries its bus offset
/// (<c>actorruntime_offset</c>), and a Subscribe call with <see cref="AfterOffsetHeader"/> replays every matching event
/// after that offset before the live ones. containerd ignores the header and sends no offsets.
/// </summary>
public static class EventOffsets
{
    /// <summary>gRPC metadata: resume after this offset (a decimal number, 0 = from the start of the journal).</summary>
    public const string AfterOffsetHeader = "actorruntime-after-offset";

    /// <summary>The Version service's revision by which actorruntimed is told from containerd (which keeps no event journal).</summary>
    public const string ServerRevision = "actorruntime";
}
