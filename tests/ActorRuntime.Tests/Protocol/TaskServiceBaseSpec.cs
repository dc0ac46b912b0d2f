using System.Collections.Concurrent;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Events;
using ActorRuntime.Protocol.EventsService;
using ActorRuntime.Protocol.Runc;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Protocol.Ttrpc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using static ActorRuntime.Tests.Protocol.Wire;
using ProtoTypes = ActorRuntime.Protocol.Types;

namespace ActorRuntime.Tests.Protocol;

/// <summary>The server side of the shim Task API and of Events/Forward, driven by our client and by captured bytes.</summary>
public class TaskServiceBaseSpec
{
    private sealed class BareService : TaskServiceBase;

    private sealed class FakeShim : TaskServiceBase
    {
        public readonly ConcurrentQueue<CreateTaskRequest> Created = new();

        public override Task<ConnectResponse> Connect(ConnectRequest r, TtrpcCallContext c) =>
            Task.FromResult(new ConnectResponse { ShimPid = 7310 });

        public override Task<CreateTaskResponse> Create(CreateTaskRequest r, TtrpcCallContext c)
        {
            if (r.Id == "dup") throw new AlreadyExistsException($"id {r.Id}: already exists");
            Created.Enqueue(r);
            return Task.FromResult(new CreateTaskResponse { Pid = 4242 });
        }

        public override Task<StateResponse> State(StateRequest r, TtrpcCallContext c) =>
            r.Id == "c1"
                ? Task.FromResult(new StateResponse { Id = r.Id, Pid = 4242, Status = ProtoTypes.Status.Running, ExitedAt = GoTime.Zero })
                : throw new NotFoundException("container not created: not found");

        public override Task<Empty> Shutdown(ShutdownRequest r, TtrpcCallContext c) => Task.FromResult(new Empty());
    }

    private static readonly string[] AllMethods =
    [
        "State", "Create", "Start", "Delete", "Pids", "Pause", "Resume", "Checkpoint", "Kill", "Exec", "ResizePty",
        "CloseIO", "Update", "Wait", "Stats", "Connect", "Shutdown",
    ];

    [Fact]
    public async Task Every_unoverridden_method_answers_Unimplemented()
    {
        await using var h = new ServerHarness(new BareService().BindTo(new TtrpcServiceRegistry()));
        var client = await h.ConnectAsync();
        Assert.Equal(17, AllMethods.Length);
        foreach (var method in AllMethods)
        {
            var error = await Assert.ThrowsAsync<UnimplementedException>(() =>
                client.CallRawAsync(TaskApi.Service, method, ByteString.Empty).WaitAsync(Bound));
            Assert.Equal(TtrpcCode.Unimplemented, error.Code);
            Assert.Equal($"method {method}", error.Message);
        }
    }

    [Fact]
    public async Task Typed_client_reaches_an_unoverridden_method_as_Unimplemented()
    {
        await using var h = new ServerHarness(new FakeShim().BindTo(new TtrpcServiceRegistry()));
        var shim = new ShimTaskClient(await h.ConnectAsync());
        var error = await Assert.ThrowsAsync<UnimplementedException>(() =>
            shim.PauseAsync(new PauseRequest { Id = "c1" }).WaitAsync(Bound));
        Assert.Equal("method Pause", error.Message);
    }

    [Fact]
    public async Task Overridden_methods_work_through_ShimTaskClient()
    {
        var fake = new FakeShim();
        await using var h = new ServerHarness(fake.BindTo(new TtrpcServiceRegistry()));
        var shim = new ShimTaskClient(await h.ConnectAsync());

        Assert.Equal(7310u, (await shim.ConnectAsync(new ConnectRequest { Id = "c1" }).WaitAsync(Bound)).ShimPid);

        var options = new Options { BinaryName = "runc", Root = "/run/x" };
        var created = await shim.CreateAsync(new CreateTaskRequest
        {
            Id = "c1",
            Bundle = "/b/c1",
            Rootfs = { new ProtoTypes.Mount { Type = "bind", Source = "/src", Options = { "rbind", "ro" } } },
            Stdout = "/fifo/out",
            Options = TypeUrls.Pack(options),
        }).WaitAsync(Bound);
        Assert.Equal(4242u, created.Pid);
        var seen = Assert.Single(fake.Created);
        Assert.Equal("/b/c1", seen.Bundle);
        Assert.Equal(["rbind", "ro"], Assert.Single(seen.Rootfs).Options);
        Assert.Equal("containerd.runc.v1.Options", seen.Options.TypeUrl);
        Assert.True(TypeUrls.TryUnpack(seen.Options, Options.Parser, out var seenOptions));
        Assert.Equal(options, seenOptions);

        var state = await shim.StateAsync(new StateRequest { Id = "c1" }, new CallOptions(TimeSpan.FromSeconds(2))).WaitAsync(Bound);
        Assert.Equal(ProtoTypes.Status.Running, state.Status);
        Assert.True(GoTime.IsZero(state.ExitedAt));

        var notFound = await Assert.ThrowsAsync<NotFoundException>(() => shim.StateAsync(new StateRequest { Id = "nope" }).WaitAsync(Bound));
        Assert.Equal("container not created: not found", notFound.Message);
        await Assert.ThrowsAsync<AlreadyExistsException>(() => shim.CreateAsync(new CreateTaskRequest { Id = "dup" }).WaitAsync(Bound));

        Assert.Equal(new Empty(), await shim.ShutdownAsync(new ShutdownRequest { Id = "c1" }).WaitAsync(Bound));
    }

    [Fact]
    public async Task Our_server_answers_the_captured_requests_with_the_captured_bytes()
    {
        await using var h = new ServerHarness(new FakeShim().BindTo(new TtrpcServiceRegistry()));
        var raw = await h.RawAsync();

        await raw.SendAsync(B("00 00 00 28 00 00 00 01 01 00", "0a 17", "'containerd.task.v2.Task'", "12 07", "'Connect'",
            "1a 04 0a 02", "'c1'"));
        var connect = await raw.ReadFrameAsync();
        Assert.NotNull(connect);
        Assert.Equal(B("00 00 00 05 00 00 00 01 02 00 12 03 08 8e 39"), Bytes(connect));

        await raw.SendAsync(RequestFrame(3, TaskApi.Service, "State", new StateRequest { Id = "nope" }));
        var state = await raw.ReadFrameAsync();
        Assert.NotNull(state);
        Assert.Equal(B("00 00 00 26 00 00 00 03 02 00 0a 24 08 05 12 20", "'container not created: not found'"), Bytes(state));

        await raw.SendAsync(RequestFrame(5, TaskApi.Service, "Shutdown", new ShutdownRequest { Id = "c1" }, 3_000_000_000));
        var shutdown = await raw.ReadFrameAsync();
        Assert.NotNull(shutdown);
        Assert.Equal(B("00 00 00 00 00 00 00 05 02 00"), Bytes(shutdown));
    }

    private static byte[] Bytes(Frame frame)
    {
        var bytes = new byte[FrameHeader.Size + frame.Body.Length];
        frame.Header.Write(bytes);
        frame.Body.CopyTo(bytes, FrameHeader.Size);
        return bytes;
    }

    // ---- Events/Forward ---------------------------------------------------------------------------------------

    private sealed class EventsSink
    {
        public readonly ConcurrentQueue<(Envelope Envelope, string? Namespace)> Received = new();

        public TtrpcServiceRegistry Registry() => new TtrpcServiceRegistry().BindForward((envelope, context) =>
        {
            Received.Enqueue((envelope, context.GetMetadata(EventsApi.NamespaceMetadataKey)));
            return Task.CompletedTask;
        });
    }

    private static Envelope ValidEnvelope() => new()
    {
        Timestamp = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddSeconds(1795415188)),
        Namespace = "shimproto",
        Topic = "/tasks/start",
        Event = TypeUrls.Pack(new TaskStart { ContainerId = "c1", Pid = 7333 }),
    };

    [Fact]
    public async Task A_valid_forward_is_delivered_with_the_namespace_metadata()
    {
        var sink = new EventsSink();
        await using var h = new ServerHarness(sink.Registry());
        var client = await h.ConnectAsync();
        await client.ForwardAsync(ValidEnvelope()).WaitAsync(Bound);

        var (envelope, ns) = Assert.Single(sink.Received);
        Assert.Equal("shimproto", ns);
        Assert.Equal(ValidEnvelope(), envelope);
        var start = Assert.IsType<TaskStart>(TypeUrls.UnpackTaskEvent(envelope.Event));
        Assert.Equal(7333u, start.Pid);
    }

    [Fact]
    public async Task The_captured_shim_forward_is_accepted_with_a_zero_length_reply()
    {
        var sink = new EventsSink();
        await using var h = new ServerHarness(sink.Registry());
        var raw = await h.RawAsync();
        await raw.SendAsync(B(
            "00 00 00 b6 00 00 00 03 01 00", "0a 2a", "'containerd.services.events.ttrpc.v1.Events'", "12 07", "'Forward'",
            "1a 50 0a 4e 0a 0b 08 94 b9 8f d8 06 10 bf 82 82 20 12 09", "'shimproto'", "1a 0c", "'/tasks/start'",
            "22 26 0a 1b", "'containerd.events.TaskStart'", "12 07 0a 02", "'c1'", "10 a5 39",
            "20 d6 f7 96 d0 12 2a 27 0a 1a", "'containerd-namespace-ttrpc'", "12 09", "'shimproto'"));
        var reply = await raw.ReadFrameAsync();
        Assert.NotNull(reply);
        Assert.Equal(new FrameHeader(0, 3, 2, 0), reply.Header);
        var (envelope, ns) = Assert.Single(sink.Received);
        Assert.Equal("shimproto", ns);
        Assert.Equal("/tasks/start", envelope.Topic);
    }

    public static TheoryData<string, Envelope> InvalidEnvelopes()
    {
        Envelope With(Action<Envelope> change)
        {
            var e = ValidEnvelope();
            change(e);
            return e;
        }

        return new()
        {
            { "envelope topic \"\": must not be empty", With(e => e.Topic = "") },
            { "must start with '/'", With(e => e.Topic = "tasks/start") },
            { "must have at least one component", With(e => e.Topic = "/") },
            { "failed validation on component", With(e => e.Topic = "/tasks//start") },
            { "timestamp must be set on forwarded event", With(e => e.Timestamp = null) },
            { "timestamp must be set on forwarded event", With(e => e.Timestamp = GoTime.Zero) },
            { "event envelope has invalid namespace: identifier must not be empty", With(e => e.Namespace = "") },
            { "event envelope has invalid namespace", With(e => e.Namespace = "bad ns") },
            { "event envelope has invalid namespace", With(e => e.Namespace = "ns\n") },
            { "event envelope has invalid namespace", With(e => e.Namespace = new string('a', 77)) },
        };
    }

    [Theory]
    [MemberData(nameof(InvalidEnvelopes))]
    public async Task Invalid_envelopes_are_rejected_with_InvalidArgument(string expected, Envelope envelope)
    {
        var sink = new EventsSink();
        await using var h = new ServerHarness(sink.Registry());
        var client = await h.ConnectAsync();
        var error = await Assert.ThrowsAsync<InvalidArgumentException>(() => client.ForwardAsync(envelope).WaitAsync(Bound));
        Assert.Equal(TtrpcCode.InvalidArgument, error.Code);
        Assert.Contains(expected, error.Message);
        Assert.Empty(sink.Received);
    }

    [Fact]
    public async Task A_missing_envelope_is_InvalidArgument()
    {
        var sink = new EventsSink();
        await using var h = new ServerHarness(sink.Registry());
        var client = await h.ConnectAsync();
        await Assert.ThrowsAsync<InvalidArgumentException>(() =>
            client.CallAsync(EventsApi.Service, EventsApi.Forward, new ForwardRequest(), Empty.Parser).WaitAsync(Bound));
        Assert.Empty(sink.Received);
    }

    [Fact]
    public async Task An_explicit_1970_timestamp_is_not_go_zero_and_is_accepted()
    {
        var sink = new EventsSink();
        await using var h = new ServerHarness(sink.Registry());
        var client = await h.ConnectAsync();
        var envelope = ValidEnvelope();
        envelope.Timestamp = new Timestamp();
        envelope.Namespace = "k8s.io";
        envelope.Topic = "/tasks/exec-added";
        await client.ForwardAsync(envelope).WaitAsync(Bound);
        Assert.Equal("k8s.io", Assert.Single(sink.Received).Namespace);
    }
}
