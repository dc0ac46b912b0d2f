using System.Net.Sockets;
using ActorRuntime.Protocol.Ttrpc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using static ActorRuntime.Tests.Protocol.Wire;

namespace ActorRuntime.Tests.Protocol;

/// <summary>Our ttrpc client against our ttrpc server over a real unix socket.</summary>
public class TtrpcClientServerSpec
{
    private const string S = TestService.Name;

    [Fact]
    public async Task Echo_round_trips()
    {
        await using var h = new ServerHarness();
        var client = await h.ConnectAsync();
        var reply = await client.CallAsync(S, "Echo", new StringValue { Value = "hi" }, StringValue.Parser).WaitAsync(Bound);
        Assert.Equal("hi", reply.Value);
        Assert.Equal(new Empty(), await client.CallAsync(S, "Empty", new Empty(), Empty.Parser).WaitAsync(Bound));
    }

    [Fact]
    public async Task Many_calls_in_flight_complete_out_of_order_matched_by_stream_id()
    {
        const int n = 40;
        await using var h = new ServerHarness();
        lock (h.Service.Gates)
            for (var i = 0; i < n; i++) h.Service.Gates[i] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var client = await h.ConnectAsync();

        var calls = Enumerable.Range(0, n)
            .Select(i => client.CallAsync(S, "Gate", new Int32Value { Value = i }, Int32Value.Parser))
            .ToArray();
        await EventuallyAsync(() => Volatile.Read(ref h.Service.Calls) == n, $"all {n} calls to reach the server", Bound);

        // Release in a shuffled order; each call completes right after its own gate, with its own value.
        var order = Enumerable.Range(0, n).OrderBy(i => (i * 17) % n).Reverse().ToArray();
        foreach (var i in order)
        {
            h.Service.Gates[i].SetResult();
            Assert.Equal(i, (await calls[i].WaitAsync(Bound)).Value);
            if (i == order[0])
                Assert.False(calls[0].IsCompleted, "the first call sent must still be pending: replies come out of order");
        }
        Assert.NotEqual(0, order[0]);
        Assert.All(calls, c => Assert.True(c.IsCompletedSuccessfully));
    }

    [Fact]
    public async Task A_handler_blocking_synchronously_does_not_stall_other_calls_on_the_connection()
    {
        await using var h = new ServerHarness();
        var client = await h.ConnectAsync();
        try
        {
            var blocked = client.CallAsync(S, "Block", new Empty(), Empty.Parser);
            var echo = await client.CallAsync(S, "Echo", new StringValue { Value = "x" }, StringValue.Parser)
                .WaitAsync(TimeSpan.FromSeconds(2));
            Assert.Equal("x", echo.Value);
            Assert.False(blocked.IsCompleted);
            h.Service.BlockRelease.Set();
            await blocked.WaitAsync(Bound);
        }
        finally
        {
            h.Service.BlockRelease.Set();
        }
    }

    [Fact]
    public async Task Stream_ids_are_odd_and_increase_by_two_with_timeout_and_lower_cased_metadata_on_the_wire()
    {
        await using var peer = await FakePeer.StartAsync();
        var client = await TtrpcClient.ConnectAsync(peer.Address).WaitAsync(Bound);
        await using var _ = client;

        var metadata = new[]
        {
            KeyValuePair.Create("X-Trace", "Abc"),
            KeyValuePair.Create("containerd-namespace-ttrpc", "ns1"),
            KeyValuePair.Create("x-trace", "second"),
        };
        for (var i = 0; i < 4; i++)
        {
            var options = i == 2 ? new CallOptions(TimeSpan.FromMilliseconds(1500), metadata) : null;
            await client.CallAsync(S, "Echo", new StringValue { Value = $"v{i}" }, Empty.Parser, options).WaitAsync(Bound);
        }

        var requests = peer.Received.ToArray();
        Assert.Equal([1u, 3u, 5u, 7u], requests.Select(r => r.StreamId));
        Assert.All(requests, r => Assert.Equal((byte)MessageType.Request, r.Header.Type));
        Assert.All(requests, r => Assert.Equal(0, r.Header.Flags));
        Assert.Equal(0, requests[0].Request.TimeoutNano);
        Assert.Empty(requests[0].Request.Metadata);
        Assert.Equal(1_500_000_000, requests[2].Request.TimeoutNano);
        Assert.Equal(["x-trace=Abc", "containerd-namespace-ttrpc=ns1", "x-trace=second"],
            requests[2].Request.Metadata.Select(kv => $"{kv.Key}={kv.Value}"));
        Assert.Equal("v3", StringValue.Parser.ParseFrom(requests[3].Request.Payload).Value);
    }

    [Fact]
    public async Task A_handler_that_drops_the_connection_sends_no_reply_and_every_call_on_it_fails_as_closed()
    {
        await using var h = new ServerHarness();
        var client = await h.ConnectAsync();
        var hanging = client.CallAsync(S, "Hang", new Empty(), Empty.Parser);
        await EventuallyAsync(() => Volatile.Read(ref h.Service.Calls) == 1, "the Hang call to reach the server", Bound);

        var dropped = client.CallAsync(S, "Drop", new StringValue { Value = "x" }, StringValue.Parser);

        await Assert.ThrowsAsync<TtrpcClosedException>(() => dropped.WaitAsync(Bound));
        await Assert.ThrowsAsync<TtrpcClosedException>(() => hanging.WaitAsync(Bound));
        Assert.True(client.IsClosed);
        // Only that connection went: the server still serves new ones.
        var other = await h.ConnectAsync();
        Assert.Equal("y", (await other.CallAsync(S, "Echo", new StringValue { Value = "y" }, StringValue.Parser).WaitAsync(Bound)).Value);
    }

    [Fact]
    public async Task Metadata_reaches_the_handler_lower_cased()
    {
        await using var h = new ServerHarness();
        var client = await h.ConnectAsync();
        var options = new CallOptions(Metadata: [KeyValuePair.Create("Containerd-Namespace-TTRPC", "Default")]);
        var seen = await client.CallAsync(S, "Metadata", new Empty(), StringValue.Parser, options).WaitAsync(Bound);
        Assert.Equal("containerd-namespace-ttrpc=Default", seen.Value);
    }

    [Fact]
    public async Task Timeout_reaches_the_server_and_a_slow_handler_yields_DeadlineExceeded()
    {
        await using var h = new ServerHarness();
        var client = await h.ConnectAsync();
        var started = DateTime.UtcNow;
        var error = await Assert.ThrowsAsync<DeadlineExceededException>(() =>
            client.CallAsync(S, "Hang", new Empty(), Empty.Parser, new CallOptions(TimeSpan.FromMilliseconds(200))).WaitAsync(Bound));
        Assert.Equal(TtrpcCode.DeadlineExceeded, error.Code);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(3));
        // The handler's token was cancelled by the server-side deadline derived from timeout_nano.
        Assert.True(await h.Service.HangTokenCancelled.Task.WaitAsync(Bound));
        // And the connection is still fine.
        Assert.Equal("ok", (await client.CallAsync(S, "Echo", new StringValue { Value = "ok" }, StringValue.Parser).WaitAsync(Bound)).Value);
    }

    [Fact]
    public async Task Server_answers_DeadlineExceeded_itself_when_timeout_nano_expires()
    {
        await using var h = new ServerHarness();
        var raw = await h.RawAsync();
        await raw.SendAsync(RequestFrame(1, S, "Hang", new Empty(), timeoutNano: 100_000_000));
        var (frame, response) = await raw.ReadResponseAsync();
        Assert.Equal(1u, frame.Header.StreamId);
        Assert.Equal((int)TtrpcCode.DeadlineExceeded, response.Status.Code);
        Assert.True(await h.Service.HangTokenCancelled.Task.WaitAsync(Bound));
    }

    [Fact]
    public async Task A_very_long_timeout_is_accepted_by_client_and_server()
    {
        await using var h = new ServerHarness();
        var client = await h.ConnectAsync();
        var reply = await client.CallAsync(S, "Echo", new StringValue { Value = "long" }, StringValue.Parser,
            new CallOptions(TimeSpan.FromDays(3650))).WaitAsync(Bound);
        Assert.Equal("long", reply.Value);
        reply = await client.CallAsync(S, "Echo", new StringValue { Value = "max" }, StringValue.Parser,
            new CallOptions(TimeSpan.MaxValue)).WaitAsync(Bound);
        Assert.Equal("max", reply.Value);
    }

    [Fact]
    public async Task Client_side_cancellation_abandons_the_call_and_keeps_the_connection()
    {
        await using var h = new ServerHarness();
        var client = await h.ConnectAsync();
        using var cts = new CancellationTokenSource();
        var call = client.CallAsync(S, "Hang", new Empty(), Empty.Parser, ct: cts.Token);
        await h.Service.WaitHangStartedAsync(0);
        cts.Cancel();
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(Bound));
        Assert.IsNotType<DeadlineExceededException>(error);
        Assert.False(client.IsClosed);
        Assert.Equal("ok", (await client.CallAsync(S, "Echo", new StringValue { Value = "ok" }, StringValue.Parser).WaitAsync(Bound)).Value);

        // An already cancelled token fails before anything is sent.
        var calls = Volatile.Read(ref h.Service.Calls);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            client.CallAsync(S, "Echo", new StringValue(), StringValue.Parser, ct: cts.Token).WaitAsync(Bound));
        await client.CallAsync(S, "Empty", new Empty(), Empty.Parser).WaitAsync(Bound);
        Assert.Equal(calls + 1, Volatile.Read(ref h.Service.Calls));
    }

    public static TheoryData<string, System.Type, TtrpcCode> TypedErrors => new()
    {
        { "NotFound", typeof(NotFoundException), TtrpcCode.NotFound },
        { "AlreadyExists", typeof(AlreadyExistsException), TtrpcCode.AlreadyExists },
        { "FailedPrecondition", typeof(FailedPreconditionException), TtrpcCode.FailedPrecondition },
        { "Unimplemented", typeof(UnimplementedException), TtrpcCode.Unimplemented },
        { "DeadlineExceeded", typeof(DeadlineExceededException), TtrpcCode.DeadlineExceeded },
        { "Unavailable", typeof(UnavailableException), TtrpcCode.Unavailable },
        { "InvalidArgument", typeof(InvalidArgumentException), TtrpcCode.InvalidArgument },
        { "PermissionDenied", typeof(TtrpcException), TtrpcCode.PermissionDenied },
        { "Internal", typeof(TtrpcException), TtrpcCode.Internal },
        { "plain", typeof(TtrpcException), TtrpcCode.Unknown },
    };

    [Theory]
    [MemberData(nameof(TypedErrors))]
    public async Task Handler_errors_round_trip_as_typed_exceptions(string kind, System.Type expected, TtrpcCode code)
    {
        await using var h = new ServerHarness();
        var client = await h.ConnectAsync();
        var message = $"boom {kind}: not found";
        var error = await Assert.ThrowsAnyAsync<TtrpcException>(() =>
            client.CallAsync(S, "Throw", new StringValue { Value = $"{kind}:{message}" }, Empty.Parser).WaitAsync(Bound));
        Assert.Equal(expected, error.GetType());
        Assert.Equal(code, error.Code);
        Assert.Equal(message, error.Message);
        Assert.False(client.IsClosed);
    }

    // ---- 4 MiB limits -----------------------------------------------------------------------------------------

    [Fact]
    public async Task Client_refuses_to_send_an_oversized_request_and_stays_usable()
    {
        await using var h = new ServerHarness();
        var client = await h.ConnectAsync();
        var error = await Assert.ThrowsAnyAsync<TtrpcException>(() =>
            client.CallRawAsync(S, "Echo", ByteString.CopyFrom(new byte[FrameChannel.MaxMessageSize])).WaitAsync(Bound));
        Assert.Equal(TtrpcCode.ResourceExhausted, error.Code);
        Assert.StartsWith("message length ", error.Message);
        Assert.EndsWith(" exceed maximum message size of 4194304", error.Message);
        Assert.Equal(0, Volatile.Read(ref h.Service.Calls));
        Assert.False(client.IsClosed);
        Assert.Equal("ok", (await client.CallAsync(S, "Echo", new StringValue { Value = "ok" }, StringValue.Parser).WaitAsync(Bound)).Value);
    }

    [Fact]
    public async Task A_request_just_under_the_limit_goes_through()
    {
        await using var h = new ServerHarness();
        var client = await h.ConnectAsync();
        var value = new BytesValue { Value = ByteString.CopyFrom(new byte[FrameChannel.MaxMessageSize - 100]) };
        var request = new Request { Service = S, Method = "Echo", Payload = value.ToByteString() };
        Assert.True(request.CalculateSize() <= FrameChannel.MaxMessageSize);
        // Echo parses a StringValue; the bytes are not valid UTF-8 in general, so use all-zero bytes (valid).
        var reply = await client.CallRawAsync(S, "Echo", value.ToByteString()).WaitAsync(Bound);
        Assert.Equal(value.ToByteString(), reply);
    }

    [Fact]
    public async Task Server_answers_ResourceExhausted_for_an_oversized_response_and_stays_usable()
    {
        await using var h = new ServerHarness();
        var client = await h.ConnectAsync();
        var error = await Assert.ThrowsAnyAsync<TtrpcException>(() =>
            client.CallAsync(S, "Big", new Int32Value { Value = FrameChannel.MaxMessageSize }, BytesValue.Parser).WaitAsync(Bound));
        Assert.Equal(TtrpcCode.ResourceExhausted, error.Code);
        Assert.EndsWith("exceed maximum message size of 4194304", error.Message);
        var ok = await client.CallAsync(S, "Big", new Int32Value { Value = 1000 }, BytesValue.Parser).WaitAsync(Bound);
        Assert.Equal(1000, ok.Value.Length);
    }

    [Fact]
    public async Task Client_rejects_an_oversized_response_frame_and_stays_usable()
    {
        await using var peer = await FakePeer.StartAsync(oversizedReplyTo: 1);
        var client = await TtrpcClient.ConnectAsync(peer.Address).WaitAsync(Bound);
        await using var _ = client;

        var error = await Assert.ThrowsAnyAsync<TtrpcException>(() =>
            client.CallAsync(S, "Echo", new StringValue(), Empty.Parser).WaitAsync(Bound));
        Assert.Equal(TtrpcCode.ResourceExhausted, error.Code);
        Assert.Equal("message length 4194305 exceed maximum message size of 4194304", error.Message);
        Assert.False(client.IsClosed);
        await client.CallAsync(S, "Echo", new StringValue(), Empty.Parser).WaitAsync(Bound);
    }

    [Fact]
    public async Task A_deadline_during_a_blocked_write_never_leaves_half_a_frame_on_the_wire()
    {
        using var dir = new TempSocketDir();
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(dir.Socket()));
        listener.Listen(1);
        var client = await TtrpcClient.ConnectAsync(dir.Socket()).WaitAsync(Bound);
        await using var _ = client;
        using var accepted = await listener.AcceptAsync().WaitAsync(Bound);

        // Nobody reads yet, so a 3 MiB frame cannot be written completely before the deadline.
        var big = ByteString.CopyFrom(new byte[3 << 20]);
        await Assert.ThrowsAsync<DeadlineExceededException>(() =>
            client.CallRawAsync(S, "Big", big, new CallOptions(TimeSpan.FromMilliseconds(150))).WaitAsync(Bound));
        var second = client.CallRawAsync(S, "Echo", ByteString.CopyFromUtf8("after"));

        await using var raw = RawConnection.Over(accepted);
        var next = await raw.ReadFrameAsync();
        Assert.NotNull(next);
        // On a loaded machine the deadline may pass before the write began: then the big frame is not sent at all. If
        // it was begun, all of it comes, and the next frame starts cleanly after it.
        if (Request.Parser.ParseFrom(next.Body).Method == "Big")
        {
            Assert.Equal((1u, big), (next.Header.StreamId, Request.Parser.ParseFrom(next.Body).Payload));
            next = await raw.ReadFrameAsync();
            Assert.NotNull(next);
        }
        Assert.Equal(("Echo", 3u), (Request.Parser.ParseFrom(next.Body).Method, next.Header.StreamId));
        await raw.SendAsync(Frame(3, 2, new Response { Payload = ByteString.CopyFromUtf8("r") }.ToByteArray()));
        Assert.Equal("r", (await second.WaitAsync(Bound)).ToStringUtf8());
    }

    // ---- Close ------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Orderly_close_fails_pending_calls_completes_Closed_once_and_later_calls_fail_fast()
    {
        await using var h = new ServerHarness();
        var client = await h.ConnectAsync();
        var pending = new[]
        {
            client.CallAsync(S, "Hang", new Empty(), Empty.Parser),
            client.CallAsync(S, "Hang", new Empty(), Empty.Parser),
        };
        await h.Service.WaitHangStartedAsync(1);
        Assert.False(client.Closed.IsCompleted);
        var closed = client.Closed;

        await client.DisposeAsync().AsTask().WaitAsync(Bound);

        foreach (var call in pending)
            await Assert.ThrowsAsync<TtrpcClosedException>(() => call.WaitAsync(Bound));
        Assert.True(client.IsClosed);
        Assert.Same(closed, client.Closed);
        Assert.Null(await closed.WaitAsync(Bound));

        var later = client.CallAsync(S, "Echo", new StringValue(), StringValue.Parser);
        Assert.True(later.IsCompleted, "a call on a closed client must fail without waiting");
        var error = await Assert.ThrowsAsync<TtrpcClosedException>(() => later);
        Assert.Equal(TtrpcCode.Unavailable, error.Code);

        // Disposing again is harmless and Closed keeps its first result.
        await client.DisposeAsync().AsTask().WaitAsync(Bound);
        Assert.Same(closed, client.Closed);
        // The server noticed the client leaving: its handlers were cancelled.
        Assert.True(await h.Service.HangTokenCancelled.Task.WaitAsync(Bound));
    }

    [Fact]
    public async Task Server_going_away_fails_pending_calls_with_closed_and_completes_Closed()
    {
        var h = new ServerHarness();
        var client = await h.ConnectAsync();
        var pending = client.CallAsync(S, "Hang", new Empty(), Empty.Parser);
        await h.Service.WaitHangStartedAsync(0);

        await h.Server.DisposeAsync().AsTask().WaitAsync(Bound);

        await Assert.ThrowsAsync<TtrpcClosedException>(() => pending.WaitAsync(Bound));
        await client.Closed.WaitAsync(Bound);
        Assert.True(client.IsClosed);
        await Assert.ThrowsAsync<TtrpcClosedException>(() =>
            client.CallAsync(S, "Echo", new StringValue(), StringValue.Parser).WaitAsync(Bound));
        Assert.False(File.Exists(h.Server.SocketPath));
        await h.DisposeAsync();
    }

    [Fact]
    public async Task Connecting_to_a_missing_socket_is_Unavailable()
    {
        using var dir = new TempSocketDir();
        var error = await Assert.ThrowsAsync<UnavailableException>(() =>
            TtrpcClient.ConnectAsync("unix://" + dir.Socket("missing.sock")).WaitAsync(Bound));
        Assert.Equal(TtrpcCode.Unavailable, error.Code);
    }

    [Fact]
    public async Task Two_clients_are_served_concurrently_with_their_own_stream_ids()
    {
        await using var h = new ServerHarness();
        var a = await h.ConnectAsync();
        var b = await h.ConnectAsync();
        var hang = a.CallAsync(S, "Hang", new Empty(), Empty.Parser, new CallOptions(TimeSpan.FromSeconds(2)));
        await h.Service.WaitHangStartedAsync(0);
        Assert.Equal("b", (await b.CallAsync(S, "Echo", new StringValue { Value = "b" }, StringValue.Parser).WaitAsync(Bound)).Value);
        var context = await h.Service.WaitHangStartedAsync(0);
        Assert.Equal(1u, context.StreamId);
        await a.DisposeAsync();
        await Assert.ThrowsAsync<TtrpcClosedException>(() => hang.WaitAsync(Bound));
    }

    /// <summary>
    /// A raw ttrpc peer on a unix socket that records every frame it receives and answers each request with an empty
    /// success on the same stream id (or, once, with an oversized frame).
    /// </summary>
    private sealed class FakePeer : IAsyncDisposable
    {
        private readonly TempSocketDir _dir = new();
        private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        private readonly CancellationTokenSource _stop = new();
        private Task _loop = Task.CompletedTask;

        public System.Collections.Concurrent.ConcurrentQueue<(uint StreamId, FrameHeader Header, Request Request)> Received { get; } = new();

        public string Address => "unix://" + _dir.Socket();

        public static Task<FakePeer> StartAsync(uint? oversizedReplyTo = null)
        {
            var peer = new FakePeer();
            peer._listener.Bind(new UnixDomainSocketEndPoint(peer._dir.Socket()));
            peer._listener.Listen(4);
            peer._loop = Task.Run(() => peer.ServeAsync(oversizedReplyTo));
            return Task.FromResult(peer);
        }

        private async Task ServeAsync(uint? oversizedReplyTo)
        {
            using var socket = await _listener.AcceptAsync(_stop.Token);
            await using var channel = new FrameChannel(new NetworkStream(socket, ownsSocket: false));
            while (await channel.ReadAsync(_stop.Token) is { } frame)
            {
                Received.Enqueue((frame.Header.StreamId, frame.Header, Request.Parser.ParseFrom(frame.Body)));
                if (frame.Header.StreamId == oversizedReplyTo)
                {
                    var huge = new byte[FrameHeader.Size + FrameChannel.MaxMessageSize + 1];
                    new FrameHeader(FrameChannel.MaxMessageSize + 1, frame.Header.StreamId, 2, 0).Write(huge);
                    await channel.WriteRawAsync(huge, _stop.Token);
                    continue;
                }
                await channel.WriteAsync(frame.Header.StreamId, MessageType.Response, Array.Empty<byte>(), _stop.Token);
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Dispose();
            try
            {
                await _loop.WaitAsync(Bound);
            }
            catch (Exception)
            {
                // Cancelled or the client went away.
            }
            _dir.Dispose();
        }
    }
}
