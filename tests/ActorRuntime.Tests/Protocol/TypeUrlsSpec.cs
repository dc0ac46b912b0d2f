using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Events;
using ActorRuntime.Protocol.Runc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ActorRuntime.Tests.Protocol;

/// <summary>Bare type URLs (shim-protocol.md §4.4) and Go zero timestamps.</summary>
public class TypeUrlsSpec
{
    [Fact]
    public void Pack_uses_the_bare_message_name()
    {
        var options = new Options { Root = "/run/x" };
        var any = TypeUrls.Pack(options);
        Assert.Equal("containerd.runc.v1.Options", any.TypeUrl);
        Assert.Equal(TypeUrls.RuncOptions, any.TypeUrl);
        Assert.Equal(options.ToByteString(), any.Value);
        Assert.Equal("containerd.events.TaskExit", TypeUrls.Pack(new TaskExit()).TypeUrl);
        Assert.Equal(TypeUrls.RuncProcessDetails, TypeUrls.Pack(new ProcessDetails()).TypeUrl);
        // What Google.Protobuf would do, and the shim rejects.
        Assert.NotEqual(Any.Pack(options).TypeUrl, any.TypeUrl);
    }

    [Theory]
    [InlineData("containerd.runc.v1.Options")]
    [InlineData("type.googleapis.com/containerd.runc.v1.Options")]
    [InlineData("/containerd.runc.v1.Options")]
    public void TryUnpack_accepts_bare_and_prefixed_urls(string typeUrl)
    {
        var options = new Options { BinaryName = "crun", SystemdCgroup = true };
        var any = new Any { TypeUrl = typeUrl, Value = options.ToByteString() };
        Assert.True(TypeUrls.TryUnpack(any, Options.Parser, out var unpacked));
        Assert.Equal(options, unpacked);
    }

    [Theory]
    [InlineData("containerd.runc.v1.CheckpointOptions")]
    [InlineData("containerd.runc.v1.Options2")]
    [InlineData("xcontainerd.runc.v1.Options")]
    [InlineData("")]
    public void TryUnpack_refuses_other_types(string typeUrl)
    {
        var any = new Any { TypeUrl = typeUrl, Value = new Options { Root = "r" }.ToByteString() };
        Assert.False(TypeUrls.TryUnpack(any, Options.Parser, out Options _));
        Assert.False(TypeUrls.TryUnpack(null, Options.Parser, out Options _));
    }

    [Fact]
    public void Is_matches_only_the_bare_name()
    {
        Assert.True(TypeUrls.Is<Options>(TypeUrls.Pack(new Options())));
        Assert.False(TypeUrls.Is<Options>(TypeUrls.Pack(new CheckpointOptions())));
        // Google.Protobuf's Is cannot read bare URLs; that is why TypeUrls exists.
        Assert.False(TypeUrls.Pack(new Options()).Is(Options.Descriptor));
    }

    public static TheoryData<IMessage> TaskEvents => new()
    {
        new TaskCreate { ContainerId = "c1", Bundle = "/b", Io = new TaskIO(), Pid = 10 },
        new TaskStart { ContainerId = "c1", Pid = 7333 },
        new TaskExit { ContainerId = "c1", Id = "c1", Pid = 7333, ExitStatus = 137, ExitedAt = GoTime.Zero },
        new TaskDelete { ContainerId = "c1", Pid = 7333, ExitStatus = 7, ExitedAt = new Timestamp { Seconds = 1795415189 } },
        new TaskOOM { ContainerId = "c1" },
        new TaskExecAdded { ContainerId = "c1", ExecId = "e1" },
        new TaskExecStarted { ContainerId = "c1", ExecId = "e1", Pid = 99 },
        new TaskPaused { ContainerId = "c1" },
        new TaskResumed { ContainerId = "c1" },
        new TaskCheckpointed { ContainerId = "c1", Checkpoint = "sha256:abc" },
    };

    [Theory]
    [MemberData(nameof(TaskEvents))]
    public void UnpackTaskEvent_decodes_each_event_type(IMessage message)
    {
        var any = TypeUrls.Pack(message);
        Assert.Equal("containerd.events." + message.Descriptor.Name, any.TypeUrl);
        var decoded = TypeUrls.UnpackTaskEvent(any);
        Assert.NotNull(decoded);
        Assert.Equal(message.GetType(), decoded.GetType());
        Assert.Equal(message, decoded);

        var prefixed = new Any { TypeUrl = "type.googleapis.com/" + any.TypeUrl, Value = any.Value };
        Assert.Equal(message, TypeUrls.UnpackTaskEvent(prefixed));
    }

    [Fact]
    public void UnpackTaskEvent_returns_null_for_unknown_types()
    {
        Assert.Null(TypeUrls.UnpackTaskEvent(TypeUrls.Pack(new Options())));
        Assert.Null(TypeUrls.UnpackTaskEvent(new Any { TypeUrl = "containerd.events.ContainerCreate" }));
        Assert.Null(TypeUrls.UnpackTaskEvent(new Any()));
    }

    [Fact]
    public void PackJson_keeps_the_given_url_and_utf8_json()
    {
        var any = TypeUrls.PackJson(TypeUrls.OciLinuxResources, """{"pids":{"limit":100}}""");
        Assert.Equal("types.containerd.io/opencontainers/runtime-spec/1/LinuxResources", any.TypeUrl);
        Assert.Equal("""{"pids":{"limit":100}}""", any.Value.ToStringUtf8());
    }

    [Fact]
    public void GoTime_zero_is_0001_01_01_and_never_1970()
    {
        Assert.Equal(-62135596800, GoTime.Zero.Seconds);
        Assert.Equal(0, GoTime.Zero.Nanos);
        Assert.Equal(DateTime.MinValue, GoTime.Zero.ToDateTime());
        Assert.True(GoTime.IsZero(GoTime.Zero));
        Assert.True(GoTime.IsZero(null));
        Assert.False(GoTime.IsZero(new Timestamp()), "an empty Timestamp is 1970 in Go, not the zero time");
        Assert.False(GoTime.IsZero(new Timestamp { Seconds = GoTime.ZeroSeconds, Nanos = 1 }));
        // Each access gives a fresh message, so callers cannot corrupt the constant.
        var zero = GoTime.Zero;
        zero.Seconds = 5;
        Assert.Equal(-62135596800, GoTime.Zero.Seconds);
    }

    [Fact]
    public void GoTime_converts_both_ways()
    {
        Assert.Equal(GoTime.Zero, GoTime.From(null));
        Assert.True(GoTime.IsZero(GoTime.From(DateTimeOffset.MinValue)));
        Assert.Null(GoTime.ToDateTimeOffset(GoTime.Zero));
        Assert.Null(GoTime.ToDateTimeOffset(null));

        var when = new DateTimeOffset(2026, 11, 23, 12, 33, 9, TimeSpan.Zero).AddTicks(752054);
        var ts = GoTime.From(when);
        Assert.Equal(when.ToUnixTimeSeconds(), ts.Seconds);
        Assert.Equal(75205400, ts.Nanos);
        Assert.Equal(when, GoTime.ToDateTimeOffset(ts));
        Assert.Equal(DateTimeOffset.UnixEpoch, GoTime.ToDateTimeOffset(new Timestamp()));
    }
}
