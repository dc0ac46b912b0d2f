using ActorRuntime.Client;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Ttrpc;
using Google.Protobuf;
using V1 = ActorRuntime.Protocol.Cgroups.V1;
using V2 = ActorRuntime.Protocol.Cgroups.V2;

namespace ActorRuntime.Tests.Client;

public sealed class StatsDecoderSpec
{
    private static readonly DateTimeOffset Read = new(2026, 11, 28, 3, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Cgroup_v1_metrics_decode_into_nanoseconds_bytes_and_the_read_and_write_totals_of_every_device()
    {
        var metrics = new V1.Metrics
        {
            Cpu = new V1.CPUStat { Usage = new V1.CPUUsage { Total = 5_000, User = 3_000, Kernel = 2_000 } },
            Memory = new V1.MemoryStat { Cache = 4096, Usage = new V1.MemoryEntry { Usage = 1 << 20, Limit = 1 << 30 } },
            Pids = new V1.PidsStat { Current = 3, Limit = 100 },
            Blkio = new V1.BlkIOStat
            {
                IoServiceBytesRecursive =
                {
                    new V1.BlkIOEntry { Op = "Read", Major = 8, Value = 10 },
                    new V1.BlkIOEntry { Op = "Read", Major = 9, Value = 5 },
                    new V1.BlkIOEntry { Op = "Write", Major = 8, Value = 7 },
                    new V1.BlkIOEntry { Op = "Total", Major = 8, Value = 17 },
                },
            },
        };

        var stats = StatsDecoder.Decode("c1", TypeUrls.CgroupsV1Metrics, metrics.ToByteArray(), Read);

        Assert.Equal(new ContainerStats("c1", Read, 1, 5_000, 3_000, 2_000, 1 << 20, 1 << 30, 4096, 3, 100, 15, 7), stats);
    }

    [Fact]
    public void Cgroup_v2_metrics_decode_into_the_same_shape_with_microseconds_turned_into_nanoseconds()
    {
        var metrics = new V2.Metrics
        {
            Cpu = new V2.CPUStat { UsageUsec = 5, UserUsec = 3, SystemUsec = 2 },
            Memory = new V2.MemoryStat { Usage = 2 << 20, UsageLimit = 1 << 30, File = 8192 },
            Pids = new V2.PidsStat { Current = 4, Limit = 64 },
            Io = new V2.IOStat { Usage = { new V2.IOEntry { Major = 8, Rbytes = 11, Wbytes = 1 }, new V2.IOEntry { Major = 9, Rbytes = 1, Wbytes = 2 } } },
        };

        var stats = StatsDecoder.Decode("c2", TypeUrls.CgroupsV2Metrics, metrics.ToByteArray(), Read);

        Assert.Equal(new ContainerStats("c2", Read, 2, 5_000, 3_000, 2_000, 2 << 20, 1 << 30, 8192, 4, 64, 12, 3), stats);
    }

    [Fact]
    public void An_unknown_metrics_type_is_an_internal_error_that_names_it()
    {
        var e = Assert.ThrowsAny<TtrpcException>(() => StatsDecoder.Decode("c3", "example.Other", [], Read));
        Assert.Equal(TtrpcCode.Internal, e.Code);
        Assert.Contains("example.Other", e.Message);
    }
}
