using System.Net.Sockets;
using ActorRuntime.Protocol.Ttrpc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using static ActorRuntime.Tests.Protocol.Wire;

namespace ActorRuntime.Tests.Protocol;

/// <summary>What our server does with malformed input, per the Go ttrpc v1.1.1 server (shim-protocol.md §2).</summary>
public class TtrpcServerBadInputSpec
{
    private const string S = TestService.Name;

    private static byte[] Echo(uint streamId, string value = "ping") =>
        RequestFrame(streamId, S, "Echo", new StringValue { Value = value });

    /// <summary>Asserts the connection still answers a normal request on <paramref name="streamId"/>.</summary>
    private static async Task AssertUsableAsync(RawConnection raw, uint streamId)
    {
        await raw.SendAsync(Echo(streamId, "still-here"));
        var (frame, response) = await raw.ReadResponseAsync();
        Assert.Equal(streamId, frame.Header.StreamId);
        Assert.Null(response.Status);
        Assert.Equal("still-here", StringValue.Parser.ParseFrom(response.Payload).Value);
    }

    /// <summary>The server survived: a fresh connection gets answers.</summary>
    private static async Task AssertServerAliveAsync(ServerHarness h)
    {
        var fresh = await h.RawAsync();
        await AssertUsableAsync(fresh, 1);
        var client = await h.ConnectAsync();
        await client.CallAsync(S, "Empty", new Empty(), Empty.Parser).WaitAsync(Bound);
    }

    private static async Task<Response> SendAndReadErrorAsync(RawConnection raw, byte[] frame, uint expectedStreamId)
    {
        await raw.SendAsync(frame);
        var (reply, response) = await raw.ReadResponseAsync();
        Assert.Equal(expectedStreamId, reply.Header.StreamId);
        Assert.NotNull(response.Status);
        Assert.True(response.Payload.IsEmpty);
        return response;
    }

    [Fact]
    public async Task Truncated_header_closes_the_connection_and_the_server_keeps_serving()
    {
        await using var h = new ServerHarness();
        var raw = await h.RawAsync();
        await raw.SendAsync(B("00 00 00 05 00"));
        raw.Socket.Shutdown(SocketShutdown.Send);
        Assert.True(await raw.ClosedByPeerAsync());
        await AssertServerAliveAsync(h);
    }

    [Fact]
    public async Task Truncated_body_closes_the_connection_and_the_server_keeps_serving()
    {
        await using var h = new ServerHarness();
        var raw = await h.RawAsync();
        var frame = Echo(1);
        await raw.SendAsync(frame[..(frame.Length - 3)]);
        raw.Socket.Shutdown(SocketShutdown.Send);
        Assert.True(await raw.ClosedByPeerAsync());
        Assert.Equal(0, Volatile.Read(ref h.Service.Calls));
        await AssertServerAliveAsync(h);
    }

    [Fact]
    public async Task Abrupt_disconnect_mid_frame_does_not_hurt_the_server()
    {
        await using var h = new ServerHarness();
        var raw = await h.RawAsync();
        await raw.SendAsync(B("00 00 10 00 00 00 00 01 01 00 0a 0b"));
        await raw.DisposeAsync();
        await AssertServerAliveAsync(h);
    }

    [Fact]
    public async Task Oversized_body_is_answered_with_ResourceExhausted_and_the_connection_stays_usable()
    {
        await using var h = new ServerHarness();
        var raw = await h.RawAsync();
        var frame = new byte[FrameHeader.Size + FrameChannel.MaxMessageSize + 1];
        new FrameHeader(FrameChannel.MaxMessageSize + 1, 5, 1, 0).Write(frame);
        var response = await SendAndReadErrorAsync(raw, frame, 5);
        Assert.Equal((int)TtrpcCode.ResourceExhausted, response.Status.Code);
        Assert.Equal("message length 4194305 exceed maximum message size of 4194304", response.Status.Message);
        Assert.Equal(0, Volatile.Read(ref h.Service.Calls));
        await AssertUsableAsync(raw, 7);
    }

    [Fact]
    public async Task A_body_of_exactly_4_MiB_is_accepted()
    {
        await using var h = new ServerHarness();
        var raw = await h.RawAsync();
        var body = new byte[FrameChannel.MaxMessageSize];
        // A Request whose bytes are all padding of an unknown field would be odd; a garbage body is enough to show the
        // frame was read and parsed (code 3), not rejected as oversized (code 8).
        body.AsSpan().Fill(0xff);
        var response = await SendAndReadErrorAsync(raw, Frame(1, 1, body), 1);
        Assert.Equal((int)TtrpcCode.InvalidArgument, response.Status.Code);
        await AssertUsableAsync(raw, 3);
    }

    [Fact]
    public async Task Even_stream_id_is_answered_on_the_same_id_with_InvalidArgument()
    {
        await using var h = new ServerHarness();
        var raw = await h.RawAsync();
        var response = await SendAndReadErrorAsync(raw, Echo(2), 2);
        Assert.Equal((int)TtrpcCode.InvalidArgument, response.Status.Code);
        Assert.Equal("StreamID must be odd for client initiated streams", response.Status.Message);
        Assert.Equal(0, Volatile.Read(ref h.Service.Calls));
        await AssertUsableAsync(raw, 3);
    }

    [Fact]
    public async Task Stream_id_zero_counts_as_even()
    {
        await using var h = new ServerHarness();
        var raw = await h.RawAsync();
        var response = await SendAndReadErrorAsync(raw, Echo(0), 0);
        Assert.Equal((int)TtrpcCode.InvalidArgument, response.Status.Code);
        await AssertUsableAsync(raw, 1);
    }

    [Theory]
    [InlineData(0x05)]
    [InlineData(0x02)]
    [InlineData(0x03)]
    public async Task Non_request_message_types_are_ignored(byte type)
    {
        await using var h = new ServerHarness();
        var raw = await h.RawAsync();
        var echo = Echo(1);
        echo[8] = type;
        await raw.SendAsync(echo);
        // The next frame we get is the answer to the following request, not to the ignored one.
        await AssertUsableAsync(raw, 3);
        Assert.Equal(1, Volatile.Read(ref h.Service.Calls));
    }

    [Fact]
    public async Task Garbage_request_body_is_InvalidArgument_unmarshal_request_error()
    {
        await using var h = new ServerHarness();
        var raw = await h.RawAsync();
        var response = await SendAndReadErrorAsync(raw, Frame(1, 1, B("ff ff ff")), 1);
        Assert.Equal((int)TtrpcCode.InvalidArgument, response.Status.Code);
        Assert.StartsWith("unmarshal request error", response.Status.Message);
        await AssertUsableAsync(raw, 3);
    }

    [Fact]
    public async Task Unknown_service_is_Unimplemented()
    {
        await using var h = new ServerHarness();
        var raw = await h.RawAsync();
        var response = await SendAndReadErrorAsync(raw, RequestFrame(1, "nope", "Echo", new Empty()), 1);
        Assert.Equal((int)TtrpcCode.Unimplemented, response.Status.Code);
        Assert.Equal("service nope", response.Status.Message);
        await AssertUsableAsync(raw, 3);
    }

    [Fact]
    public async Task Unknown_method_is_Unimplemented()
    {
        await using var h = new ServerHarness();
        var raw = await h.RawAsync();
        var response = await SendAndReadErrorAsync(raw, RequestFrame(1, S, "Nope", new Empty()), 1);
        Assert.Equal((int)TtrpcCode.Unimplemented, response.Status.Code);
        Assert.Equal("method Nope", response.Status.Message);
        await AssertUsableAsync(raw, 3);
    }

    [Fact]
    public async Task Garbage_payload_is_Internal_error_unmarshalling_payload()
    {
        await using var h = new ServerHarness();
        var raw = await h.RawAsync();
        var request = new Request { Service = S, Method = "Echo", Payload = ByteString.CopyFrom(B("ff ff ff")) };
        var response = await SendAndReadErrorAsync(raw, Frame(1, 1, request.ToByteArray()), 1);
        Assert.Equal((int)TtrpcCode.Internal, response.Status.Code);
        Assert.StartsWith("ttrpc: error unmarshalling payload", response.Status.Message);
        Assert.Equal(0, Volatile.Read(ref h.Service.Calls));
        await AssertUsableAsync(raw, 3);
    }

    [Theory]
    [InlineData(0x01)]
    [InlineData(0x06)]
    public async Task Flags_are_ignored(byte flags)
    {
        await using var h = new ServerHarness();
        var raw = await h.RawAsync();
        var echo = Echo(1, "flagged");
        echo[9] = flags;
        await raw.SendAsync(echo);
        var (frame, response) = await raw.ReadResponseAsync();
        Assert.Equal(1u, frame.Header.StreamId);
        Assert.Equal(0, frame.Header.Flags);
        Assert.Null(response.Status);
        Assert.Equal("flagged", StringValue.Parser.ParseFrom(response.Payload).Value);
    }

    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(-1L)]
    public async Task Extreme_timeout_nano_values_do_not_break_the_call(long timeoutNano)
    {
        await using var h = new ServerHarness();
        var raw = await h.RawAsync();
        await raw.SendAsync(RequestFrame(1, S, "Echo", new StringValue { Value = "t" }, timeoutNano));
        var (frame, response) = await raw.ReadResponseAsync();
        Assert.Equal(1u, frame.Header.StreamId);
        Assert.Null(response.Status);
        Assert.Equal("t", StringValue.Parser.ParseFrom(response.Payload).Value);
    }

    [Fact]
    public async Task Bad_input_of_every_kind_on_one_connection_leaves_it_usable()
    {
        await using var h = new ServerHarness();
        var raw = await h.RawAsync();
        var odd = Echo(1);
        odd[8] = 0x05;
        await raw.SendAsync(odd);
        Assert.Equal(3, (await SendAndReadErrorAsync(raw, Frame(3, 1, B("ff ff ff")), 3)).Status.Code);
        Assert.Equal(3, (await SendAndReadErrorAsync(raw, Echo(4), 4)).Status.Code);
        Assert.Equal(12, (await SendAndReadErrorAsync(raw, RequestFrame(5, "nope", "X", new Empty()), 5)).Status.Code);
        await AssertUsableAsync(raw, 7);
    }

    [Fact]
    public async Task Empty_response_is_sent_as_a_zero_length_frame_without_status()
    {
        await using var h = new ServerHarness();
        var raw = await h.RawAsync();
        await raw.SendAsync(RequestFrame(9, S, "Empty", new Empty()));
        var frame = await raw.ReadFrameAsync();
        Assert.NotNull(frame);
        Assert.Equal(new FrameHeader(0, 9, 2, 0), frame.Header);
        Assert.Empty(frame.Body);
    }
}
