using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Events;
using ActorRuntime.Protocol.EventsService;
using ActorRuntime.Protocol.Runc;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Protocol.Ttrpc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using static ActorRuntime.Tests.Protocol.Wire;

namespace ActorRuntime.Tests.Protocol;

/// <summary>Every hex dump captured from the real shim (shim-protocol.md §2.2, §4.4, §6, §8.2), both directions.</summary>
public class WireCodecSpec
{
    private static byte[] Encode(FrameHeader header, IMessage body)
    {
        var bytes = body.ToByteArray();
        Assert.Equal(header.Length, (uint)bytes.Length);
        return Frame(header.StreamId, header.Type, bytes, header.Flags);
    }

    private static (FrameHeader Header, byte[] Body) Split(byte[] frame)
    {
        var header = FrameHeader.Read(frame);
        var body = frame[FrameHeader.Size..];
        Assert.Equal(header.Length, (uint)body.Length);
        return (header, body);
    }

    // ---- Connect ----------------------------------------------------------------------------------------------

    private static readonly byte[] ConnectRequestFrame = B(
        "00 00 00 28  00 00 00 01  01  00",
        "0a 17", "'containerd.task.v2.Task'",
        "12 07", "'Connect'",
        "1a 04  0a 02", "'c1'");

    private static readonly byte[] ConnectResponseFrame = B(
        "00 00 00 05  00 00 00 01  02  00",
        "12 03  08 8e 39");

    [Fact]
    public void Connect_request_encodes_to_the_captured_frame()
    {
        var request = new Request
        {
            Service = TaskApi.Service,
            Method = TaskApi.Methods.Connect,
            Payload = new ConnectRequest { Id = "c1" }.ToByteString(),
        };
        Assert.Equal(ConnectRequestFrame, Encode(new FrameHeader(40, 1, 1, 0), request));
    }

    [Fact]
    public void Connect_request_frame_decodes_to_its_fields()
    {
        var (header, body) = Split(ConnectRequestFrame);
        Assert.Equal(new FrameHeader(40, 1, (byte)MessageType.Request, 0), header);
        var request = Request.Parser.ParseFrom(body);
        Assert.Equal("containerd.task.v2.Task", request.Service);
        Assert.Equal("Connect", request.Method);
        Assert.Equal(0, request.TimeoutNano);
        Assert.Empty(request.Metadata);
        Assert.Equal("c1", ConnectRequest.Parser.ParseFrom(request.Payload).Id);
    }

    [Fact]
    public void Connect_response_round_trips_without_a_status_field()
    {
        var response = new Response { Payload = new ConnectResponse { ShimPid = 7310 }.ToByteString() };
        Assert.Equal(ConnectResponseFrame, Encode(new FrameHeader(5, 1, 2, 0), response));

        var (header, body) = Split(ConnectResponseFrame);
        Assert.Equal(new FrameHeader(5, 1, (byte)MessageType.Response, 0), header);
        var decoded = Response.Parser.ParseFrom(body);
        Assert.Null(decoded.Status);
        var connect = ConnectResponse.Parser.ParseFrom(decoded.Payload);
        Assert.Equal(7310u, connect.ShimPid);
        Assert.Equal(0u, connect.TaskPid);
        Assert.Equal("", connect.Version);
    }

    // ---- Errors and Empty -------------------------------------------------------------------------------------

    private static readonly byte[] StateNotFoundFrame = B(
        "00 00 00 26  00 00 00 03  02  00",
        "0a 24  08 05  12 20", "'container not created: not found'");

    [Fact]
    public void State_not_found_error_round_trips()
    {
        var status = new NotFoundException("container not created: not found").ToStatus();
        Assert.Equal(StateNotFoundFrame, Encode(new FrameHeader(0x26, 3, 2, 0), new Response { Status = status }));

        var (header, body) = Split(StateNotFoundFrame);
        Assert.Equal(3u, header.StreamId);
        var decoded = Response.Parser.ParseFrom(body);
        Assert.Equal(5, decoded.Status.Code);
        Assert.Equal("container not created: not found", decoded.Status.Message);
        Assert.True(decoded.Payload.IsEmpty);
        var error = TtrpcException.FromStatus((TtrpcCode)decoded.Status.Code, decoded.Status.Message);
        Assert.IsType<NotFoundException>(error);
        Assert.Equal(TtrpcCode.NotFound, error.Code);
    }

    [Fact]
    public void Empty_success_is_a_zero_length_frame()
    {
        var captured = B("00 00 00 00  00 00 00 03  02  00");
        var response = new Response { Payload = new Empty().ToByteString() };
        Assert.Equal(captured, Encode(new FrameHeader(0, 3, 2, 0), response));

        var (header, body) = Split(captured);
        Assert.Equal(new FrameHeader(0, 3, 2, 0), header);
        var decoded = Response.Parser.ParseFrom(body);
        Assert.Null(decoded.Status);
        Assert.Equal(new Empty(), Empty.Parser.ParseFrom(decoded.Payload));
    }

    // ---- Wait -------------------------------------------------------------------------------------------------

    private static readonly byte[] WaitResponseFrame = B(
        "00 00 00 11  00 00 00 13  02  00",
        "12 0f  08 07  12 0b 08 95 b9 8f d8 06 10 9f 96 ee 23");

    [Fact]
    public void Wait_response_with_exit_7_round_trips()
    {
        var wait = new WaitResponse
        {
            ExitStatus = 7,
            ExitedAt = new Timestamp { Seconds = 1795415189, Nanos = 75205407 },
        };
        Assert.Equal(WaitResponseFrame, Encode(new FrameHeader(0x11, 0x13, 2, 0), new Response { Payload = wait.ToByteString() }));

        var (header, body) = Split(WaitResponseFrame);
        Assert.Equal(0x13u, header.StreamId);
        var decoded = WaitResponse.Parser.ParseFrom(Response.Parser.ParseFrom(body).Payload);
        Assert.Equal(7u, decoded.ExitStatus);
        Assert.Equal(1795415189, decoded.ExitedAt.Seconds);
        Assert.Equal(75205407, decoded.ExitedAt.Nanos);
        Assert.False(GoTime.IsZero(decoded.ExitedAt));
    }

    // ---- Events/Forward TaskStart sent by the shim ------------------------------------------------------------

    private static readonly byte[] ForwardTaskStartFrame = B(
        "00 00 00 b6  00 00 00 03  01  00",
        "0a 2a", "'containerd.services.events.ttrpc.v1.Events'",
        "12 07", "'Forward'",
        "1a 50",
        "0a 4e",
        "0a 0b 08 94 b9 8f d8 06 10 bf 82 82 20",
        "12 09", "'shimproto'",
        "1a 0c", "'/tasks/start'",
        "22 26",
        "0a 1b", "'containerd.events.TaskStart'",
        "12 07 0a 02", "'c1'", "10 a5 39",
        "20 d6 f7 96 d0 12",
        "2a 27 0a 1a", "'containerd-namespace-ttrpc'", "12 09", "'shimproto'");

    private static Envelope CapturedEnvelope() => new()
    {
        Timestamp = new Timestamp { Seconds = 1795415188, Nanos = 67141951 },
        Namespace = "shimproto",
        Topic = "/tasks/start",
        Event = TypeUrls.Pack(new TaskStart { ContainerId = "c1", Pid = 7333 }),
    };

    [Fact]
    public void Forward_TaskStart_request_encodes_to_the_captured_182_byte_body()
    {
        var request = new Request
        {
            Service = EventsApi.Service,
            Method = EventsApi.Forward,
            Payload = new ForwardRequest { Envelope = CapturedEnvelope() }.ToByteString(),
            TimeoutNano = 4_999_986_134,
            Metadata = { new KeyValue { Key = EventsApi.NamespaceMetadataKey, Value = "shimproto" } },
        };
        Assert.Equal(182, request.CalculateSize());
        Assert.Equal(ForwardTaskStartFrame, Encode(new FrameHeader(182, 3, 1, 0), request));
    }

    [Fact]
    public void Forward_TaskStart_request_decodes_to_its_fields()
    {
        var (header, body) = Split(ForwardTaskStartFrame);
        Assert.Equal(new FrameHeader(182, 3, (byte)MessageType.Request, 0), header);
        var request = Request.Parser.ParseFrom(body);
        Assert.Equal("containerd.services.events.ttrpc.v1.Events", request.Service);
        Assert.Equal("Forward", request.Method);
        Assert.Equal(4_999_986_134, request.TimeoutNano);
        var metadata = Assert.Single(request.Metadata);
        Assert.Equal(("containerd-namespace-ttrpc", "shimproto"), (metadata.Key, metadata.Value));

        var envelope = ForwardRequest.Parser.ParseFrom(request.Payload).Envelope;
        Assert.Equal(CapturedEnvelope().Timestamp, envelope.Timestamp);
        Assert.Equal("shimproto", envelope.Namespace);
        Assert.Equal("/tasks/start", envelope.Topic);
        Assert.Equal("containerd.events.TaskStart", envelope.Event.TypeUrl);
        var start = Assert.IsType<TaskStart>(TypeUrls.UnpackTaskEvent(envelope.Event));
        Assert.Equal("c1", start.ContainerId);
        Assert.Equal(7333u, start.Pid);
    }

    // ---- Encoding details (§4.4, §6, §8.2) --------------------------------------------------------------------

    [Fact]
    public void StateResponse_zero_time_is_written_as_go_zero_time()
    {
        var captured = B("52 0b 08 80 92 b8 c3 98 fe ff ff ff 01");
        Assert.Equal(captured, new StateResponse { ExitedAt = GoTime.Zero }.ToByteArray());

        var decoded = StateResponse.Parser.ParseFrom(captured);
        Assert.Equal(-62135596800, decoded.ExitedAt.Seconds);
        Assert.Equal(0, decoded.ExitedAt.Nanos);
        Assert.True(GoTime.IsZero(decoded.ExitedAt));
        Assert.Null(GoTime.ToDateTimeOffset(decoded.ExitedAt));
        Assert.Equal(DateTime.MinValue, decoded.ExitedAt.ToDateTime());
    }

    [Fact]
    public void Delete_subcommand_stdout_round_trips()
    {
        var captured = B("08 81 51 10 89 01 1a 0c 08 fe bc 8f d8 06 10 db 80 db aa 01");
        var response = new DeleteResponse
        {
            Pid = 10369,
            ExitStatus = 137,
            ExitedAt = new Timestamp { Seconds = 1795415678, Nanos = 358006875 },
        };
        Assert.Equal(captured, response.ToByteArray());
        Assert.Equal(response, DeleteResponse.Parser.ParseFrom(captured));
    }

    [Fact]
    public void Delete_subcommand_pid_minus_one_reads_as_uint_max()
    {
        var bytes = new DeleteResponse { Pid = uint.MaxValue, ExitStatus = 137, ExitedAt = GoTime.Zero }.ToByteArray();
        Assert.Equal(B("08 ff ff ff ff 0f"), bytes[..6]);
        Assert.Equal(4294967295u, DeleteResponse.Parser.ParseFrom(bytes).Pid);
    }

    [Fact]
    public void TaskCreate_with_empty_io_writes_the_embedded_message()
    {
        Assert.Equal(B("22 00"), new TaskCreate { Io = new TaskIO() }.ToByteArray());
        var decoded = TaskCreate.Parser.ParseFrom(B("22 00"));
        Assert.NotNull(decoded.Io);
        Assert.Equal("", decoded.Io.Stdout);
    }

    [Fact]
    public void Options_packed_with_the_bare_type_url()
    {
        var options = new Options { BinaryName = "runc", Root = "/run/x" };
        var expected = B("0a 1a", "'containerd.runc.v1.Options'", "12 0e", "32 04", "'runc'", "3a 06", "'/run/x'");
        var any = TypeUrls.Pack(options);
        Assert.Equal(expected, any.ToByteArray());

        var decoded = Any.Parser.ParseFrom(expected);
        Assert.Equal("containerd.runc.v1.Options", decoded.TypeUrl);
        Assert.True(TypeUrls.TryUnpack(decoded, Options.Parser, out var unpacked));
        Assert.Equal(options, unpacked);

        // Also as the options field of Create (field 10).
        var create = new CreateTaskRequest { Id = "c1", Options = any }.ToByteArray();
        Assert.Equal(B("0a 02", "'c1'", "52 2c"), create[..6]);
        Assert.Equal(expected, create[6..]);
    }

    // ---- Frame header -----------------------------------------------------------------------------------------

    [Theory]
    [InlineData(0u, 1u, 1, 0)]
    [InlineData(40u, 3u, 2, 1)]
    [InlineData(4194305u, 0x13u, 5, 0xff)]
    [InlineData(uint.MaxValue, uint.MaxValue, 0xff, 0x04)]
    public void FrameHeader_round_trips_big_endian(uint length, uint streamId, byte type, byte flags)
    {
        var header = new FrameHeader(length, streamId, type, flags);
        var bytes = new byte[FrameHeader.Size];
        header.Write(bytes);
        Assert.Equal(header, FrameHeader.Read(bytes));
        Assert.Equal(length >> 24, bytes[0]);
        Assert.Equal(length & 0xff, bytes[3]);
        Assert.Equal(streamId >> 24, bytes[4]);
        Assert.Equal(streamId & 0xff, bytes[7]);
        Assert.Equal(type, bytes[8]);
        Assert.Equal(flags, bytes[9]);
    }

    [Fact]
    public void FrameHeader_reads_the_captured_headers()
    {
        Assert.Equal(new FrameHeader(0xb6, 3, 1, 0), FrameHeader.Read(B("00 00 00 b6 00 00 00 03 01 00")));
        Assert.Equal(new FrameHeader(0x11, 0x13, 2, 0), FrameHeader.Read(B("00 00 00 11 00 00 00 13 02 00")));
        Assert.Equal(new FrameHeader(0x01020304, 0x0a0b0c0d, 2, 1), FrameHeader.Read(B("01 02 03 04 0a 0b 0c 0d 02 01")));
    }

    [Fact]
    public async Task FrameChannel_reads_and_writes_the_captured_frames()
    {
        using var buffer = new MemoryStream();
        await using (var writer = new FrameChannel(new NonClosingStream(buffer)))
        {
            var request = Request.Parser.ParseFrom(ConnectRequestFrame[FrameHeader.Size..]);
            await writer.WriteAsync(1, MessageType.Request, request.ToByteArray(), CancellationToken.None);
            await writer.WriteAsync(3, MessageType.Response, Array.Empty<byte>(), CancellationToken.None);
        }
        var written = buffer.ToArray();
        Assert.Equal([.. ConnectRequestFrame, .. B("00 00 00 00 00 00 00 03 02 00")], written);

        await using var reader = new FrameChannel(new MemoryStream(written));
        var first = await reader.ReadAsync(CancellationToken.None);
        Assert.NotNull(first);
        Assert.Equal(ConnectRequestFrame[FrameHeader.Size..], first.Body);
        var second = await reader.ReadAsync(CancellationToken.None);
        Assert.NotNull(second);
        Assert.Equal(new FrameHeader(0, 3, 2, 0), second.Header);
        Assert.Empty(second.Body);
        Assert.Null(await reader.ReadAsync(CancellationToken.None));
    }

    [Fact]
    public async Task FrameChannel_refuses_to_write_an_oversized_body()
    {
        await using var channel = new FrameChannel(new MemoryStream());
        var error = await Assert.ThrowsAsync<TtrpcException>(() =>
            channel.WriteAsync(1, MessageType.Request, new byte[FrameChannel.MaxMessageSize + 1], CancellationToken.None));
        Assert.Equal(TtrpcCode.ResourceExhausted, error.Code);
        Assert.Equal("message length 4194305 exceed maximum message size of 4194304", error.Message);
        // Exactly 4 MiB is allowed.
        await channel.WriteAsync(1, MessageType.Request, new byte[FrameChannel.MaxMessageSize], CancellationToken.None);
    }

    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => inner.CanWrite;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => inner.SetLength(value);
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }
}
