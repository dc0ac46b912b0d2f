using ActorRuntime.Protocol;
using Google.Protobuf;
using V1 = ActorRuntime.Protocol.Cgroups.V1;
using V2 = ActorRuntime.Protocol.Cgroups.V2;

namespace ActorRuntime.Client;

/// <summary>The shim's Stats Any (cgroup v1 or v2 Metrics) decoded into one <see cref="ContainerStats"/>; pure.</summary>
public static class StatsDecoder
{
    public static ContainerStats Decode(string containerId, string typeUrl, ReadOnlySpan<byte> value, DateTimeOffset read)
    {
        var any = new Google.Protobuf.WellKnownTypes.Any { TypeUrl = typeUrl, Value = ByteString.CopyFrom(value) };
        if (TypeUrls.TryUnpack(any, V1.Metrics.Parser, out var v1)) return FromV1(containerId, v1, read);
        if (TypeUrls.TryUnpack(any, V2.Metrics.Parser, out var v2)) return FromV2(containerId, v2, read);
        throw Protocol.Ttrpc.TtrpcException.FromStatus(Protocol.Ttrpc.TtrpcCode.Internal,
            $"stats of {containerId}: unknown metrics type {(typeUrl.Length == 0 ? "(none)" : typeUrl)}");
    }

    private static ContainerStats FromV1(string id, V1.Metrics m, DateTimeOffset read)
    {
        ulong Io(string op) => m.Blkio?.IoServiceBytesRecursive
            .Where(e => string.Equals(e.Op, op, StringComparison.OrdinalIgnoreCase))
            .Aggregate(0UL, (sum, e) => sum + e.Value) ?? 0;
        return new ContainerStats(id, read, CgroupVersion: 1,
            CpuUsageNanos: m.Cpu?.Usage?.Total ?? 0,
            CpuUserNanos: m.Cpu?.Usage?.User ?? 0,
            CpuSystemNanos: m.Cpu?.Usage?.Kernel ?? 0,
            MemoryUsageBytes: m.Memory?.Usage?.Usage ?? 0,
            MemoryLimitBytes: m.Memory?.Usage?.Limit ?? 0,
            MemoryCacheBytes: m.Memory?.Cache ?? 0,
            PidsCurrent: m.Pids?.Current ?? 0,
            PidsLimit: m.Pids?.Limit ?? 0,
            IoReadBytes: Io("Read"),
            IoWriteBytes: Io("Write"));
    }

    // v2 counts CPU in microseconds and has no page-cache figure of its own: "file" is what v1 calls cache.
    private static ContainerStats FromV2(string id, V2.Metrics m, DateTimeOffset read) =>
        new(id, read, CgroupVersion: 2,
            CpuUsageNanos: (m.Cpu?.UsageUsec ?? 0) * 1000,
            CpuUserNanos: (m.Cpu?.UserUsec ?? 0) * 1000,
            CpuSystemNanos: (m.Cpu?.SystemUsec ?? 0) * 1000,
            MemoryUsageBytes: m.Memory?.Usage ?? 0,
            MemoryLimitBytes: m.Memory?.UsageLimit ?? 0,
            MemoryCacheBytes: m.Memory?.File ?? 0,
            PidsCurrent: m.Pids?.Current ?? 0,
            PidsLimit: m.Pids?.Limit ?? 0,
            IoReadBytes: m.Io?.Usage.Aggregate(0UL, (sum, e) => sum + e.Rbytes) ?? 0,
            IoWriteBytes: m.Io?.Usage.Aggregate(0UL, (sum, e) => sum + e.Wbytes) ?? 0);
}
