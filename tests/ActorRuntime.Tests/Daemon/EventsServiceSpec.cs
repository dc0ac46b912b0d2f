using System.Collections.Concurrent;
using ActorRuntime.Daemon.Services;
using ActorRuntime.Events;
using ActorRuntime.Protocol.Api.Events;
using ActorRuntime.Protocol.Events;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Xunit.Abstractions;
using Envelope = ActorRuntime.Protocol.Api.Events.Envelope;
using EventsClient = ActorRuntime.Protocol.Api.Events.Events.EventsClient;

namespace ActorRuntime.Tests.Daemon;

/// <summary>
/// The events service as ctr and dockerd use it: Subscribe streams the bus's events as containerd's envelopes (bare
/// type URLs, TaskExit.id the exec id or the container id), with containerd's filters; Publish and Forward take events in.
/// </summary>
public sealed class EventsServiceSpec(ITestOutputHelper output) : DaemonServerSpecBase(output)
{
    private const string ProcessSpec = """{"args":["sh"],"cwd":"/"}""";

    private EventsClient Client => new(Channel);

    /// <summary>A Subscribe stream read in the background; every envelope it delivers is kept, duplicates included.</summary>
    private sealed class Stream : IAsyncDisposable
    {
        private readonly CancellationTokenSource _cancel = new();
        private readonly ConcurrentQueue<Envelope> _received = new();
        private readonly AsyncServerStreamingCall<Envelope> _call;
        private readonly Task _reading;

        public Stream(EventsClient client, params string[] filters)
        {
            _call = client.Subscribe(new SubscribeRequest { Filters = { filters } }, In("default"), cancellationToken: _cancel.Token);
            _reading = Task.Run(async () =>
            {
                await foreach (var e in _call.ResponseStream.ReadAllAsync(_cancel.Token)) _received.Enqueue(e);
            });
        }

        public IReadOnlyList<Envelope> Received => _received.ToList();

        public Task Reading => _reading;

        public async ValueTask DisposeAsync()
        {
            await _cancel.CancelAsync();
            await Task.WhenAny(_reading, Task.Delay(Bound));
            _call.Dispose();
        }

        public override string ToString() => string.Join("\n", _received.Select(e => $"{e.Namespace} {e.Topic} {e.Event?.TypeUrl}"));
    }

    private async Task<int> SubscriptionsAsync() => (await BusStatsAsync()).Subscriptions.Count;

    /// <summary>Opens a stream and waits until its bus subscription is in place (one more than before).</summary>
    private async Task<Stream> SubscribeAsync(params string[] filters)
    {
        var before = await SubscriptionsAsync();
        var stream = new Stream(Client, filters);
        await EventuallyAsync(async () => await SubscriptionsAsync() == before + 1, "the stream's subscription", Bound);
        return stream;
    }

    private static Task ReceivedAsync(Stream stream, Func<Envelope, bool> last, string what) =>
        EventuallyAsync(() => stream.Received.Any(last), what, Bound, stream.ToString);

    [Fact]
    public async Task A_stream_without_filters_gets_every_namespaces_container_namespace_and_task_events_once_in_containerds_envelopes()
    {
        await using var stream = await SubscribeAsync();

        await Runtime.CreateNamespaceAsync("x", new Dictionary<string, string> { ["k"] = "v" });
        var options = ActorRuntime.Protocol.TypeUrls.Pack(new ActorRuntime.Protocol.Runc.Options { BinaryName = "runc", Root = "/r" });
        await Runtime.CreateContainerAsync("c1", Spec, new Dictionary<string, string> { ["a"] = "1" }, runtimeOptions: options.ToByteArray());
        await RunAsync("c1");
        await Runtime.ExecAsync("c1", "e1", ProcessSpec);
        await Runtime.StartExecAsync("c1", "e1");
        await Launcher["c1"].ExitAsync("c1", 0, "e1");
        await WaitForEventAsync("c1", Topics.Exit, "e1");
        await Launcher["c1"].ExitAsync("c1", 7);
        await Runtime.WaitAsync("c1");
        await Runtime.DeleteAsync("c1");
        await Runtime.DeleteContainerAsync("c1");
        await Runtime.InNamespace("other").CreateContainerAsync("c2", Spec);
        await ReceivedAsync(stream, e => e.Topic == "/containers/create" && e.Namespace == "other", "c2's create");
        await ReceivedAsync(stream, e => e.Topic == "/containers/delete", "c1's delete");
        await QuietAsync();

        var c1 = stream.Received.Where(e => e.Namespace == "spec" && e.Topic != "/namespaces/create").ToList();
        Assert.Equal(
        [
            "/containers/create", Topics.Create, Topics.Start, Topics.ExecAdded, Topics.ExecStarted, Topics.Exit, Topics.Exit,
            Topics.Delete, "/containers/delete",
        ], c1.Select(e => e.Topic));
        Assert.Equal(
        [
            "containerd.events.ContainerCreate", "containerd.events.TaskCreate", "containerd.events.TaskStart",
            "containerd.events.TaskExecAdded", "containerd.events.TaskExecStarted", "containerd.events.TaskExit",
            "containerd.events.TaskExit", "containerd.events.TaskDelete", "containerd.events.ContainerDelete",
        ], c1.Select(e => e.Event.TypeUrl));

        var created = ContainerCreate.Parser.ParseFrom(c1[0].Event.Value);
        Assert.Equal(("c1", "io.containerd.runc.v2", options), (created.Id, created.Runtime.Name, created.Runtime.Options));
        var execExit = TaskExit.Parser.ParseFrom(c1[5].Event.Value);
        Assert.Equal(("c1", "e1", 0u), (execExit.ContainerId, execExit.Id, execExit.ExitStatus));
        var initExit = TaskExit.Parser.ParseFrom(c1[6].Event.Value);
        Assert.Equal(("c1", "c1", 7u), (initExit.ContainerId, initExit.Id, initExit.ExitStatus));
        Assert.Equal("c1", ContainerDelete.Parser.ParseFrom(c1[8].Event.Value).Id);

        var ns = Assert.Single(stream.Received, e => e.Topic == "/namespaces/create");
        Assert.Equal(("spec", "containerd.events.NamespaceCreate"), (ns.Namespace, ns.Event.TypeUrl));
        var nsCreate = NamespaceCreate.Parser.ParseFrom(ns.Event.Value);
        Assert.Equal(("x", "v"), (nsCreate.Name, nsCreate.Labels["k"]));
        Assert.Equal("c2", ContainerCreate.Parser.ParseFrom(Assert.Single(stream.Received, e => e.Namespace == "other").Event.Value).Id);
        Assert.All(stream.Received, e => Assert.NotEqual(0, e.Timestamp.Seconds));
    }

    [Fact]
    public async Task Namespace_events_go_out_in_the_callers_namespace_as_containerd_publishes_them()
    {
        await using var stream = await SubscribeAsync("topic~=|^/namespaces/|");
        var namespaces = new ActorRuntime.Protocol.Api.Namespaces.Namespaces.NamespacesClient(Channel);
        await namespaces.CreateAsync(new() { Namespace = new() { Name = "made-by-other" } }, In("other"));
        await namespaces.DeleteAsync(new() { Name = "made-by-other" }, In("other"));
        await namespaces.CreateAsync(new() { Namespace = new() { Name = "made-headerless" } });
        await ReceivedAsync(stream, e => e.Topic == "/namespaces/create" && e.Namespace == Settings.Namespace, "the headerless create");
        Assert.Equal(
            [("other", "/namespaces/create"), ("other", "/namespaces/delete"), (Settings.Namespace, "/namespaces/create")],
            stream.Received.Select(e => (e.Namespace, e.Topic)));
    }

    [Fact]
    public async Task Dockerds_filter_gets_only_its_namespaces_task_events()
    {
        await using var stream = await SubscribeAsync("namespace==moby,topic~=|^/tasks/|");
        var moby = Runtime.InNamespace("moby");

        // The same id in another namespace, and moby's own container and namespace events: none of them match.
        await RunAsync("c1");
        await Runtime.PauseAsync("c1");
        await Runtime.CreateNamespaceAsync("moby");
        await moby.CreateContainerAsync("c1", Spec);
        await moby.CreateAsync("c1", Spec, []);
        await moby.StartAsync("c1");
        await moby.PauseAsync("c1");
        await SettleAsync();
        // Published once everything before it has reached the stream's buffer: the last event the stream can get.
        await moby.ResumeAsync("c1");
        await ReceivedAsync(stream, e => e.Topic == Topics.Resumed, "the resume");

        Assert.Equal([Topics.Create, Topics.Start, Topics.Paused, Topics.Resumed], stream.Received.Select(e => e.Topic));
        Assert.All(stream.Received, e => Assert.Equal("moby", e.Namespace));
        var start = TaskStart.Parser.ParseFrom(stream.Received[1].Event.Value);
        Assert.Equal(("c1", Launcher["moby", "c1"].PidOf("c1")), (start.ContainerId, (uint?)start.Pid));
    }

    [Fact]
    public async Task A_bad_filter_is_InvalidArgument_and_opens_no_subscription()
    {
        var before = await SubscriptionsAsync();
        var call = Client.Subscribe(new SubscribeRequest { Filters = { "topic~=|(|" } }, In("default"));
        var bad = await Refused(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        Assert.Equal(before, await SubscriptionsAsync());
    }

    [Fact]
    public async Task A_client_that_cancels_its_stream_leaves_no_subscription_behind()
    {
        var before = await SubscriptionsAsync();
        var streams = new List<Stream>();
        for (var i = 0; i < 3; i++) streams.Add(await SubscribeAsync(i == 0 ? [] : [$"namespace==n{i}"]));
        Assert.Equal(before + 3, await SubscriptionsAsync());

        foreach (var s in streams) await s.DisposeAsync();
        await EventuallyAsync(async () => await SubscriptionsAsync() == before, "the streams' subscriptions to end", Bound);
        // The bus goes on serving the rest.
        await Runtime.CreateNamespaceAsync("after");
        await SettleAsync();
    }

    [Fact]
    public async Task A_subscriber_that_falls_behind_is_ended_with_ResourceExhausted_after_a_bounded_buffer()
    {
        var gate = new TaskCompletionSource();
        var writer = new GatedWriter(gate.Task);
        var context = new CallContext(In("default"));
        var service = new EventsService(Runtime, EventBusSettings.Default with { MaxQueuedPerSubscriber = 4 }, StartupReplay.None);
        var before = await SubscriptionsAsync();
        var subscribe = service.Subscribe(new SubscribeRequest { Filters = { "topic~=|^/namespaces/|" } }, writer, context);
        await EventuallyAsync(async () => await SubscriptionsAsync() == before + 1, "the subscription", Bound);

        // One in the (gated) write, four in the buffer, and the sixth does not fit.
        await Runtime.CreateNamespaceAsync("n0");
        await writer.Writing.WaitAsync(Bound);
        for (var i = 1; i < 6; i++) await Runtime.CreateNamespaceAsync($"n{i}");
        await EventuallyAsync(async () => (await BusStatsAsync()).Subscriptions.Any(s =>
            s.Filters.SequenceEqual(["topic~=|^/namespaces/|"]) && s.Completed == 6), "the six callbacks", Bound);
        gate.SetResult();

        var dropped = await Assert.ThrowsAsync<RpcException>(() => subscribe.WaitAsync(Bound));
        Assert.Equal(StatusCode.ResourceExhausted, dropped.StatusCode);
        Assert.Contains("fell more than 4 events behind", dropped.Status.Detail);
        Assert.Equal(["n0", "n1", "n2", "n3", "n4"], writer.Written.Select(e => NamespaceCreate.Parser.ParseFrom(e.Event.Value).Name));
        await EventuallyAsync(async () => await SubscriptionsAsync() == before, "the subscription to end", Bound);
    }

    [Fact]
    public async Task Publish_takes_the_namespace_from_the_header_and_Forward_the_whole_envelope()
    {
        await using var stream = await SubscribeAsync();
        var custom = new Any { TypeUrl = "example.com/Custom", Value = ByteString.CopyFromUtf8("opaque") };
        await Client.PublishAsync(new PublishRequest { Topic = "/custom/thing", Event = custom }, In("default"));
        var oom = new Envelope
        {
            Namespace = "moby", Topic = Topics.Oom, Timestamp = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddDays(1)),
            Event = Any.Pack(new TaskOOM { ContainerId = "c9" }, ""),
        };
        oom.Event.TypeUrl = "containerd.events.TaskOOM";
        await Client.ForwardAsync(new ForwardRequest { Envelope = oom }, In("default"));
        await ReceivedAsync(stream, e => e.Topic == Topics.Oom, "the forwarded oom");

        var published = Assert.Single(stream.Received, e => e.Topic == "/custom/thing");
        Assert.Equal(("default", custom), (published.Namespace, published.Event));
        var forwarded = Assert.Single(stream.Received, e => e.Topic == Topics.Oom);
        // Each carries its bus offset, a field of ours the envelope sent in did not have.
        Assert.Equal(published.ActorruntimeOffset + 1, forwarded.ActorruntimeOffset);
        var asSent = forwarded.Clone();
        asSent.ActorruntimeOffset = 0;
        Assert.Equal(oom, asSent);
    }

    [Fact]
    public async Task A_resume_header_that_is_not_an_offset_is_InvalidArgument_naming_it()
    {
        var headers = In("default");
        headers.Add(ActorRuntime.Protocol.EventOffsets.AfterOffsetHeader, "-3");
        using var call = Client.Subscribe(new SubscribeRequest(), headers);
        var refused = await Refused(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("\"-3\" is not an event offset", refused.Status.Detail);
    }

    [Fact]
    public async Task Publish_and_Forward_refuse_a_missing_namespace_a_bad_topic_or_no_timestamp_with_containerds_codes()
    {
        var any = new Any { TypeUrl = "containerd.events.TaskOOM" };
        var noNamespace = await Refused(() => Client.PublishAsync(new PublishRequest { Topic = "/x", Event = any }).ResponseAsync);
        Assert.Equal((StatusCode.FailedPrecondition, "namespace is required: failed precondition"),
            (noNamespace.StatusCode, noNamespace.Status.Detail));
        var slash = await Refused(() => Client.PublishAsync(new PublishRequest { Topic = "/x", Event = any }, In("a/b")).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, slash.StatusCode);
        Assert.StartsWith("namespace validation: namespace \"a/b\" must match", slash.Status.Detail);
        foreach (var (topic, problem) in new[] { ("", "must not be empty"), ("x", "must start with '/'"), ("/", "at least one component"),
                     ("/a/../b", "failed validation on component \"..\"") })
        {
            var bad = await Refused(() => Client.PublishAsync(new PublishRequest { Topic = topic, Event = any }, In("default")).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
            Assert.Contains(problem, bad.Status.Detail);
        }
        var noTime = await Refused(() => Client.ForwardAsync(new ForwardRequest
        {
            Envelope = new Envelope { Namespace = "default", Topic = "/x", Event = any },
        }).ResponseAsync);
        Assert.Equal((StatusCode.InvalidArgument, "timestamp must be set on forwarded event: invalid argument"),
            (noTime.StatusCode, noTime.Status.Detail));
        var badNs = await Refused(() => Client.ForwardAsync(new ForwardRequest
        {
            Envelope = new Envelope { Namespace = "..", Topic = "/x", Event = any, Timestamp = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow) },
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, badNs.StatusCode);
        Assert.StartsWith("event envelope has invalid namespace: namespace \"..\"", badNs.Status.Detail);
        // Nothing refused reached the bus.
        await SettleAsync();
        Assert.Empty(Events);
    }

    [Fact]
    public async Task A_stream_opened_within_the_startup_window_gets_what_the_bus_published_since_the_start_once_then_live_and_a_later_one_only_live()
    {
        // A first life of the runtime, then a restart: the bus starts where the journal ends.
        await Runtime.CreateNamespaceAsync("before");
        await StopRuntimeAsync();
        var runtime = await StartRuntimeAsync();
        var started = await BusStatsAsync();
        Assert.True(started.StartOffset > 0, $"the restarted bus starts at {started.StartOffset}");
        // Published while the daemon reloads, before it serves (the exits it found): nobody is subscribed yet.
        await runtime.CreateNamespaceAsync("loaded-1");
        await runtime.CreateNamespaceAsync("loaded-2");
        await SettleAsync();

        var clock = new ManualClock();
        var replay = new StartupReplay(started.StartOffset, TimeSpan.FromSeconds(10), clock);
        replay.Serving();
        var service = new EventsService(runtime, EventBusSettings.Default, replay);
        using var cancel = new CancellationTokenSource();
        var early = new GatedWriter(Task.CompletedTask);
        var late = new GatedWriter(Task.CompletedTask);
        var request = new SubscribeRequest { Filters = { "topic~=|^/namespaces/|" } };

        clock.Advance(TimeSpan.FromSeconds(9));
        var before = await SubscriptionsAsync();
        var earlyCall = service.Subscribe(request, early, new CallContext(In("default"), cancel.Token));
        await EventuallyAsync(async () => await SubscriptionsAsync() == before + 1, "the early stream's subscription", Bound);
        await runtime.CreateNamespaceAsync("live-1");
        await EventuallyAsync(() => early.Written.Count >= 3, "the early stream's three events", Bound);

        clock.Advance(TimeSpan.FromSeconds(1));
        var lateCall = service.Subscribe(request, late, new CallContext(In("default"), cancel.Token));
        await EventuallyAsync(async () => await SubscriptionsAsync() == before + 2, "the late stream's subscription", Bound);
        await runtime.CreateNamespaceAsync("live-2");
        await EventuallyAsync(() => late.Written.Count >= 1 && early.Written.Count >= 4, "live-2 on both streams", Bound);
        await QuietAsync();
        await cancel.CancelAsync();
        await Task.WhenAll(earlyCall, lateCall).WaitAsync(Bound);

        static IEnumerable<string> Names(GatedWriter w) => w.Written.Select(e => NamespaceCreate.Parser.ParseFrom(e.Event.Value).Name);
        Assert.Equal(["loaded-1", "loaded-2", "live-1", "live-2"], Names(early));
        Assert.Equal(["live-2"], Names(late));
    }

    /// <summary>A clock the spec moves by hand.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    }

    /// <summary>A response stream whose writes wait for the gate: a client that does not read.</summary>
    private sealed class GatedWriter(Task gate) : IServerStreamWriter<Envelope>
    {
        private readonly ConcurrentQueue<Envelope> _written = new();

        public IReadOnlyList<Envelope> Written => _written.ToList();

        private readonly TaskCompletionSource _writing = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when the first write has begun.</summary>
        public Task Writing => _writing.Task;

        public WriteOptions? WriteOptions { get; set; }

        // The interface's default refuses a cancellable token; the service passes the call's.
        public Task WriteAsync(Envelope message, CancellationToken cancellationToken) => WriteAsync(message);

        public async Task WriteAsync(Envelope message)
        {
            _writing.TrySetResult();
            await gate;
            _written.Enqueue(message);
        }
    }

    private sealed class CallContext(Metadata headers, CancellationToken cancel = default) : ServerCallContext
    {
        protected override string MethodCore => "/containerd.services.events.v1.Events/Subscribe";
        protected override string HostCore => "localhost";
        protected override string PeerCore => "unix:";
        protected override DateTime DeadlineCore => DateTime.MaxValue;
        protected override Metadata RequestHeadersCore => headers;
        protected override CancellationToken CancellationTokenCore => cancel;
        protected override Metadata ResponseTrailersCore { get; } = [];
        protected override Status StatusCore { get; set; }
        protected override WriteOptions? WriteOptionsCore { get; set; }
        protected override AuthContext AuthContextCore => new(null, []);

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
            throw new NotSupportedException();

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
