using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using ActorRuntime.Events;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Api.Containers;
using ActorRuntime.Protocol.Api.Events;
using ActorRuntime.Protocol.Api.Namespaces;
using ActorRuntime.Protocol.Api.Tasks;
using ActorRuntime.Protocol.Runc;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Protocol.Types;
using ActorRuntime.Tasks;
using CheckpointOptions = ActorRuntime.Tasks.CheckpointOptions;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using ContainersClient = ActorRuntime.Protocol.Api.Containers.Containers.ContainersClient;
using EventsClient = ActorRuntime.Protocol.Api.Events.Events.EventsClient;
using TasksClient = ActorRuntime.Protocol.Api.Tasks.Tasks.TasksClient;
using CallOptions = Grpc.Core.CallOptions;
using NamespacesClient = ActorRuntime.Protocol.Api.Namespaces.Namespaces.NamespacesClient;
using VersionClient = ActorRuntime.Protocol.Api.Version.Version.VersionClient;

namespace ActorRuntime.Client.Remote;

/// <summary>
/// <see cref="IContainerClient"/> over containerd's gRPC API on a unix socket: actorruntimed's, or a real containerd
/// 1.6's. It makes the calls containerd's own client makes for moby's libcontainerd (Containers, Tasks, Events,
/// Version), with the namespace in the <c>containerd-namespace</c> header. As containerd's cio does, the FIFOs are made
/// on this machine under <see cref="StateDirectory"/> and only their paths cross the socket, so client and server must
/// share the filesystem. Statuses come back as <see cref="TtrpcException"/>s with the server's code and message.
/// <para>Where the two servers differ: actorruntimed numbers its events (offsets, resume after one); containerd keeps no
/// journal, so its events carry offset 0 and <see cref="SubscribeAsync"/> with an offset is Unimplemented.</para>
/// </summary>
public sealed class ContainerdContainerClient : IContainerClient
{
    /// <summary>Events a backend may have in hand before the stream waits for it.</summary>
    private const int MaxEventsInFlight = 1024;

    private const string CheckpointMediaType = "application/vnd.containerd.container.criu.checkpoint.criu.tar";

    private readonly Connection _connection;

    private ContainerdContainerClient(Connection connection, string @namespace)
    {
        _connection = connection;
        Namespace = @namespace;
    }

    public string Namespace { get; }

    /// <summary>Where this client makes its FIFOs: <c>&lt;state&gt;/&lt;namespace&gt;/&lt;container id&gt;/&lt;random&gt;/</c>.</summary>
    public string StateDirectory => _connection.StateDirectory;

    /// <summary>
    /// A client of the server on <paramref name="socketPath"/> acting in <paramref name="namespace"/>; FIFOs under
    /// <paramref name="stateDirectory"/>. Nothing is sent until the first call (a missing socket is Unavailable then).
    /// </summary>
    public static ContainerdContainerClient Connect(string socketPath, string @namespace, string stateDirectory)
    {
        Identifiers.Validate(@namespace, "namespace");
        var channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            // containerd's own limit is the server's (16 MiB); the client's default (4 MiB) would hide it.
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
            HttpHandler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                        return new NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                },
            },
        });
        var connection = new Connection(channel, stateDirectory);
        return connection.Owner = new ContainerdContainerClient(connection, @namespace);
    }

    public IContainerClient InNamespace(string @namespace)
    {
        Identifiers.Validate(@namespace, "namespace");
        return new ContainerdContainerClient(_connection, @namespace);
    }

    public async Task<RuntimeVersion> VersionAsync(CancellationToken ct = default)
    {
        var v = await Call(o => _connection.Version.VersionAsync(new Empty(), o), ct);
        return new RuntimeVersion(v.Version, v.Revision);
    }

    public async Task<IReadOnlyList<string>> NamespacesAsync(CancellationToken ct = default) =>
        (await Call(o => _connection.Namespaces.ListAsync(new ListNamespacesRequest(), o), ct)).Namespaces.Select(n => n.Name).ToList();

    // ---- containers ----

    public async Task<ContainerInfo> CreateAsync(NewContainer container, CancellationToken ct = default)
    {
        var request = new CreateContainerRequest
        {
            Container = new Container
            {
                Id = container.Id,
                Runtime = new Container.Types.Runtime { Name = container.Runtime, Options = ToAny(container.Options) },
                Spec = TypeUrls.PackJson(TypeUrls.OciSpec, container.SpecJson),
                // As ctr and dockerd send them: Go's zero time, filled in by the server.
                CreatedAt = GoTime.Zero,
                UpdatedAt = GoTime.Zero,
            },
        };
        if (container.Labels is { } labels)
            foreach (var (key, value) in labels) request.Container.Labels[key] = value;
        var created = await Call(o => _connection.Containers.CreateAsync(request, o), ct);
        return ToInfo(created.Container);
    }

    public async Task<ContainerInfo> LoadAsync(string id, CancellationToken ct = default) =>
        ToInfo((await Call(o => _connection.Containers.GetAsync(new GetContainerRequest { Id = id }, o), ct)).Container);

    public async Task<IReadOnlyList<ContainerInfo>> ListAsync(CancellationToken ct = default) =>
        (await Call(o => _connection.Containers.ListAsync(new ListContainersRequest(), o), ct)).Containers.Select(ToInfo).ToList();

    /// <summary>The container's FIFO directory goes with it.</summary>
    public async Task DeleteAsync(string id, CancellationToken ct = default)
    {
        await Call(o => _connection.Containers.DeleteAsync(new DeleteContainerRequest { Id = id }, o), ct);
        _connection.Processes.ContainerDeleted(Namespace, id);
    }

    /// <summary>A task that is already gone (or never was) is no error: the container is deleted all the same.</summary>
    public async Task<ExitResult?> ForceDeleteAsync(string id, CancellationToken ct = default)
    {
        ExitResult? exit = null;
        try
        {
            await SignalAsync(id, null, 9, all: true, ct);
        }
        catch (NotFoundException)
        {
            // No task, or its process already exited.
        }
        try
        {
            await WaitAsync(id, null, ct);
            exit = await DeleteTaskAsync(id, ct);
        }
        catch (NotFoundException)
        {
            // No task.
        }
        await DeleteAsync(id, ct);
        return exit;
    }

    // ---- the task ----

    public async Task<StartedProcess> StartAsync(string id, StartOptions options, CancellationToken ct = default)
    {
        var container = await LoadAsync(id, ct);
        var (uid, gid) = IoOwner.OfContainerSpec(container.SpecJson);
        using var start = _connection.Processes.BeginStart(Key(id, null));
        var io = await OpenIoAsync(id, "init", options.WithStdin, options.Terminal, options.Attach, options.LogPath, uid, gid, ct);
        var request = new CreateTaskRequest
        {
            ContainerId = id,
            Stdin = io.Paths.Stdin,
            Stdout = io.Paths.Stdout,
            Stderr = io.Paths.Stderr,
            Terminal = options.Terminal,
            Options = IoOwner.TaskOptions(container.Options, (uid, gid), options.CheckpointDirectory),
        };
        if (options.Rootfs is { } rootfs)
            request.Rootfs.AddRange(rootfs.Select(m => new Mount { Type = m.Type, Source = m.Source, Options = { m.Options } }));
        // containerd restores from the runc options' CriuImagePath once a checkpoint is named at all.
        if (options.CheckpointDirectory is not null) request.Checkpoint = new ContentDescriptor { MediaType = CheckpointMediaType };
        return await CreateThenStartAsync(id, null, start, io,
            () => Call(o => _connection.Tasks.CreateAsync(request, o), ct),
            async () => (await Call(o => _connection.Tasks.StartAsync(new StartRequest { ContainerId = id }, o), ct)).Pid);
    }

    public async Task<StartedProcess> ReattachAsync(string id, StdioAttach? attach, CancellationToken ct = default)
    {
        var process = (await Call(o => _connection.Tasks.GetAsync(new GetRequest { ContainerId = id }, o), ct)).Process;
        using var start = _connection.Processes.BeginStart(Key(id, null));
        ProcessIo? io = null;
        if (attach is not null && process.Stdout.Length > 0 && !process.Stdout.Contains("://", StringComparison.Ordinal))
        {
            io = ProcessIo.Reopen(new Stdio(process.Stdin, process.Stdout, process.Stderr, process.Terminal));
            try
            {
                await attach(io, ct);
            }
            catch
            {
                await io.DetachAsync(); // the process runs on: its FIFOs stay
                throw;
            }
        }
        await start.SucceededAsync(io);
        return new StartedProcess(id, null, process.Pid, io);
    }

    public async Task<TaskStatusInfo> StatusAsync(string id, CancellationToken ct = default)
    {
        var p = (await Call(o => _connection.Tasks.GetAsync(new GetRequest { ContainerId = id }, o), ct)).Process;
        return new TaskStatusInfo(id, p.Pid, (ProcessStatus)(int)p.Status, p.ExitStatus, GoTime.ToDateTimeOffset(p.ExitedAt));
    }

    public Task PauseAsync(string id, CancellationToken ct = default) =>
        Call(o => _connection.Tasks.PauseAsync(new PauseTaskRequest { ContainerId = id }, o), ct);

    public Task ResumeAsync(string id, CancellationToken ct = default) =>
        Call(o => _connection.Tasks.ResumeAsync(new ResumeTaskRequest { ContainerId = id }, o), ct);

    /// <summary>As dockerd asks: Metrics filtered by id; the task's cgroup v1 or v2 Any decoded.</summary>
    public async Task<ContainerStats> StatsAsync(string id, CancellationToken ct = default)
    {
        var response = await Call(o => _connection.Tasks.MetricsAsync(new MetricsRequest { Filters = { $"id=={id}" } }, o), ct);
        var metric = response.Metrics.FirstOrDefault(m => m.Id == id)
            ?? throw new NotFoundException($"no metrics for task {id} in namespace {Namespace}: not found");
        return StatsDecoder.Decode(id, metric.Data?.TypeUrl ?? "", metric.Data is { } data ? data.Value.Span : ReadOnlySpan<byte>.Empty,
            metric.Timestamp?.ToDateTimeOffset() ?? DateTimeOffset.UtcNow);
    }

    public async Task<IReadOnlyList<ProcessSummary>> SummaryAsync(string id, CancellationToken ct = default)
    {
        var response = await Call(o => _connection.Tasks.ListPidsAsync(new ListPidsRequest { ContainerId = id }, o), ct);
        return response.Processes.Select(p => new ProcessSummary(p.Pid,
            TypeUrls.TryUnpack(p.Info, ProcessDetails.Parser, out var details) && details.ExecId.Length > 0 ? details.ExecId : null)).ToList();
    }

    public Task UpdateResourcesAsync(string id, string linuxResourcesJson, CancellationToken ct = default) =>
        Call(o => _connection.Tasks.UpdateAsync(new UpdateTaskRequest
        {
            ContainerId = id,
            Resources = TypeUrls.PackJson(TypeUrls.OciLinuxResources, linuxResourcesJson),
        }, o), ct);

    /// <summary>
    /// runc's checkpoint options with the image path set, so the server writes the image into that directory (containerd
    /// 1.6 then makes no image of it in its content store).
    /// </summary>
    public Task CheckpointAsync(string id, CheckpointOptions options, CancellationToken ct = default) =>
        Call(o => _connection.Tasks.CheckpointAsync(new CheckpointTaskRequest
        {
            ContainerId = id,
            Options = TypeUrls.Pack(new Protocol.Runc.CheckpointOptions
            {
                Exit = options.Exit,
                OpenTcp = options.OpenTcp,
                ExternalUnixSockets = options.ExternalUnixSockets,
                Terminal = options.Terminal,
                FileLocks = options.FileLocks,
                // The server's working directory is not the caller's.
                ImagePath = Path.GetFullPath(options.ImagePath),
                WorkPath = options.WorkPath is { } work ? Path.GetFullPath(work) : "",
            }),
        }, o), ct);

    /// <summary>The task's exit; its FIFOs, and those of execs not deleted one by one, are removed.</summary>
    public async Task<ExitResult> DeleteTaskAsync(string id, CancellationToken ct = default)
    {
        var deleted = await Call(o => _connection.Tasks.DeleteAsync(new DeleteTaskRequest { ContainerId = id }, o), ct);
        await _connection.Processes.DeletedAsync(Key(id, null), wholeContainer: true);
        _connection.TaskDeleted(Namespace, id);
        return ToExit(deleted.Pid, deleted.ExitStatus, deleted.ExitedAt);
    }

    // ---- any process ----

    public async Task<StartedProcess> ExecAsync(string id, string execId, ExecOptions options, CancellationToken ct = default)
    {
        var process = JsonNode.Parse(options.ProcessSpecJson) as JsonObject
            ?? throw new InvalidArgumentException($"exec {execId}: the process spec is not a JSON object: invalid argument");
        // runc makes the pty from the spec; the shim wires it from the request: both must say the same.
        process["terminal"] = options.Terminal;
        var (uid, gid) = IoOwner.Of(process);
        using var start = _connection.Processes.BeginStart(Key(id, execId));
        var io = await OpenIoAsync(id, execId, options.WithStdin, options.Terminal, options.Attach, null, uid, gid, ct);
        var request = new ExecProcessRequest
        {
            ContainerId = id,
            ExecId = execId,
            Stdin = io.Paths.Stdin,
            Stdout = io.Paths.Stdout,
            Stderr = io.Paths.Stderr,
            Terminal = options.Terminal,
            Spec = TypeUrls.PackJson(TypeUrls.OciProcess, process.ToJsonString()),
        };
        return await CreateThenStartAsync(id, execId, start, io,
            () => Call(o => _connection.Tasks.ExecAsync(request, o), ct),
            async () =>
            {
                // moby's serializeExecStartsWorkaround: containerd 1.6's shim holds one lock across every Start, and concurrent
                // Starts slow each other down until they pass the deadline (50 execs: about a minute); in turn they take seconds.
                var turn = _connection.ExecStartTurn(Namespace, id);
                await turn.WaitAsync(ct);
                try
                {
                    return (await Call(o => _connection.Tasks.StartAsync(new StartRequest { ContainerId = id, ExecId = execId }, o), ct)).Pid;
                }
                finally
                {
                    turn.Release();
                }
            });
    }

    /// <summary>
    /// The one create-then-start of a task or exec whose stdio is already open: a failed create removes the stdio, a
    /// failed start also kills and deletes what the create made, so nothing is left; a start registers the stdio.
    /// </summary>
    private async Task<StartedProcess> CreateThenStartAsync(string id, string? execId, AttachedProcesses.StartInProgress start,
        OpenedIo io, Func<Task> create, Func<Task<uint>> run)
    {
        try
        {
            await create();
        }
        catch
        {
            await io.DisposeAsync();
            throw;
        }
        uint pid;
        try
        {
            pid = await run();
        }
        catch
        {
            await CleanUpFailedStartAsync(id, execId);
            await io.DisposeAsync();
            throw;
        }
        await start.SucceededAsync(io.Io);
        return new StartedProcess(id, execId, pid, io.Io);
    }

    public Task SignalAsync(string id, string? execId, int signal, bool all = false, CancellationToken ct = default) =>
        Call(o => _connection.Tasks.KillAsync(new KillRequest
        {
            ContainerId = id,
            ExecId = execId ?? "",
            Signal = checked((uint)signal),
            All = all,
        }, o), ct);

    public Task ResizeAsync(string id, string? execId, uint width, uint height, CancellationToken ct = default) =>
        Call(o => _connection.Tasks.ResizePtyAsync(new ResizePtyRequest
        {
            ContainerId = id,
            ExecId = execId ?? "",
            Width = width,
            Height = height,
        }, o), ct);

    /// <summary>moby's stdin-close synchronisation (<see cref="AttachedProcesses.CloseStdinAsync"/>).</summary>
    public Task CloseStdinAsync(string id, string? execId, CancellationToken ct = default) =>
        _connection.Processes.CloseStdinAsync(Key(id, execId), ct);

    public async Task<ExitResult> WaitAsync(string id, string? execId, CancellationToken ct = default)
    {
        var r = await Call(o => _connection.Tasks.WaitAsync(new WaitRequest { ContainerId = id, ExecId = execId ?? "" }, o), ct);
        // Wait carries no pid: the process's, as Get reports it (0 once it is gone).
        uint pid = 0;
        try
        {
            pid = (await Call(o => _connection.Tasks.GetAsync(new GetRequest { ContainerId = id, ExecId = execId ?? "" }, o), ct)).Process.Pid;
        }
        catch (NotFoundException)
        {
        }
        return ToExit(pid, r.ExitStatus, r.ExitedAt);
    }

    public async Task<ExitResult> DeleteProcessAsync(string id, string execId, CancellationToken ct = default)
    {
        var deleted = await Call(o => _connection.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = id, ExecId = execId }, o), ct);
        await _connection.Processes.DeletedAsync(Key(id, execId), wholeContainer: false);
        return ToExit(deleted.Pid, deleted.ExitStatus, deleted.ExitedAt);
    }

    // ---- events ----

    /// <summary>
    /// One Events/Subscribe stream with dockerd's filter (this namespace, task topics); each container's events run in
    /// order, containers in parallel. actorruntimed: every event carries its offset and <paramref name="afterOffset"/>
    /// resumes after it (journal replay, then live). containerd: offsets are 0, and resuming is Unimplemented (it keeps
    /// no journal; events published while nobody listens are gone).
    /// </summary>
    public async Task<IAsyncDisposable> SubscribeAsync(IContainerEventBackend backend, long? afterOffset = null, CancellationToken ct = default)
    {
        if (afterOffset is { } after)
        {
            if (after < 0) throw new InvalidArgumentException($"offset {after} is before the first event (0 = from the start): invalid argument");
            var version = await VersionAsync(ct);
            if (version.Revision != EventOffsets.ServerRevision)
                throw new UnimplementedException(
                    $"the server (containerd {version.Version}) keeps no event journal: resuming after offset {after} is not implemented (subscribe from now on)");
        }
        var headers = Headers();
        if (afterOffset is { } from) headers.Add(EventOffsets.AfterOffsetHeader, from.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var stop = new CancellationTokenSource();
        var call = _connection.Events.Subscribe(new SubscribeRequest { Filters = { $"namespace=={Namespace},topic~=|^/tasks/|" } },
            headers, cancellationToken: stop.Token);
        var lanes = new ContainerLanes(e => backend.ProcessEventAsync(e, stop.Token), MaxEventsInFlight);
        var reading = Task.Run(async () =>
        {
            await foreach (var envelope in call.ResponseStream.ReadAllAsync(stop.Token))
                if (ToEvent(envelope) is { } e)
                    await lanes.PostAsync(e, stop.Token);
        }, CancellationToken.None);
        return new Subscription(call, stop, reading, lanes);
    }

    public async ValueTask DisposeAsync()
    {
        // Only the client Connect made owns the connection; namespace views share it.
        if (ReferenceEquals(this, _connection.Owner)) await _connection.DisposeAsync();
    }

    // ---- helpers ----

    private ProcessKey Key(string id, string? execId) => new(Namespace, id, execId);

    private Metadata Headers() => new() { { "containerd-namespace", Namespace } };

    private CallOptions CallOptionsOf(CancellationToken ct) => new(Headers(), cancellationToken: ct);

    private async Task<T> Call<T>(Func<CallOptions, AsyncUnaryCall<T>> call, CancellationToken ct)
    {
        try
        {
            return await call(CallOptionsOf(ct));
        }
        catch (RpcException e)
        {
            throw GrpcStatusMapping.ToException(e, ct);
        }
    }

    /// <summary>
    /// What a start that failed leaves on the server is removed (moby deletes the task; the kill first stops a process
    /// that did start). Its own errors are not the caller's: the start's error is.
    /// </summary>
    private async Task CleanUpFailedStartAsync(string id, string? execId)
    {
        try
        {
            await SignalAsync(id, execId, 9, all: false, CancellationToken.None);
        }
        catch (TtrpcException)
        {
            // Not running: nothing to stop.
        }
        try
        {
            if (execId is null) await Call(o => _connection.Tasks.DeleteAsync(new DeleteTaskRequest { ContainerId = id }, o), CancellationToken.None);
            else await Call(o => _connection.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = id, ExecId = execId }, o), CancellationToken.None);
        }
        catch (TtrpcException)
        {
            // Already gone.
        }
    }

    /// <summary>The stdio of a process about to be created: FIFOs handed to attach, a log file, or none at all.</summary>
    private async Task<OpenedIo> OpenIoAsync(string id, string processId, bool withStdin, bool terminal, StdioAttach? attach,
        string? logPath, uint uid, uint gid, CancellationToken ct)
    {
        if (logPath is not null)
        {
            // The shim writes the file itself (ctr's --log-uri file://).
            var uri = "file://" + Path.GetFullPath(logPath);
            return new OpenedIo(new Stdio("", uri, uri, terminal), null);
        }
        if (attach is null) return new OpenedIo(new Stdio(Terminal: terminal), null);
        var io = ProcessIo.Create(_connection.Processes.ContainerDirectory(Namespace, id), processId, withStdin, terminal, ((int)uid, (int)gid));
        try
        {
            await attach(io, ct);
        }
        catch
        {
            await io.DisposeAsync();
            throw;
        }
        return new OpenedIo(io.Paths, io);
    }

    private static Any? ToAny(RuntimeOptions? options) =>
        options is null ? null : new Any { TypeUrl = options.TypeUrl, Value = ByteString.CopyFrom(options.Value) };

    private static ContainerInfo ToInfo(Container c) => new(
        c.Id,
        c.Spec?.Value.ToStringUtf8() ?? "",
        c.Runtime?.Name ?? "",
        c.Runtime?.Options is { } o ? new RuntimeOptions(o.TypeUrl, o.Value.ToByteArray()) : null,
        new Dictionary<string, string>(c.Labels),
        GoTime.ToDateTimeOffset(c.CreatedAt) ?? DateTimeOffset.MinValue,
        GoTime.ToDateTimeOffset(c.UpdatedAt) ?? DateTimeOffset.MinValue);

    private static ExitResult ToExit(uint pid, uint status, Timestamp? exitedAt) =>
        new(pid, status, GoTime.ToDateTimeOffset(exitedAt) ?? DateTimeOffset.MinValue);

    /// <summary>A task event of the envelope with its offset (0 from containerd); other topics are not a host's.</summary>
    private ContainerEvent? ToEvent(Envelope envelope) =>
        envelope.Event is { } any
        && EventMessages.TaskEventOf(envelope.Namespace, envelope.Topic, envelope.Timestamp.ToDateTimeOffset(), any) is { } e
            && EventMapping.ToContainerEvent(e with { Offset = envelope.ActorruntimeOffset }, Namespace) is { } mapped
            ? mapped with
            {
                Node = envelope.ActorruntimeNode.Length == 0 ? null : envelope.ActorruntimeNode,
                Reason = envelope.ActorruntimeReason.Length == 0 ? null : envelope.ActorruntimeReason,
            }
            : null;

    /// <summary>A process's stdio paths as sent, and the caller's FIFO set behind them (none: null IO or a log file).</summary>
    private sealed record OpenedIo(Stdio Paths, ProcessIo? Io)
    {
        public ValueTask DisposeAsync() => Io?.DisposeAsync() ?? ValueTask.CompletedTask;
    }

    private sealed class Subscription(AsyncServerStreamingCall<Envelope> call, CancellationTokenSource stop, Task reading, ContainerLanes lanes)
        : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            try
            {
                await reading;
            }
            catch (Exception e) when (e is OperationCanceledException or RpcException)
            {
                // Ended by us, or by the server before: either way over.
            }
            await lanes.DrainAsync();
            call.Dispose();
            stop.Dispose();
        }
    }

    /// <summary>What the client and its namespace views share: the channel, and the processes it started.</summary>
    private sealed class Connection : IAsyncDisposable
    {
        private readonly GrpcChannel _channel;

        public Connection(GrpcChannel channel, string stateDirectory)
        {
            _channel = channel;
            Containers = new(channel);
            Tasks = new(channel);
            Events = new(channel);
            Version = new(channel);
            Namespaces = new(channel);
            Processes = new AttachedProcesses(stateDirectory, CloseStdinAsync);
        }

        public ContainerdContainerClient? Owner { get; set; }

        public AttachedProcesses Processes { get; }

        public string StateDirectory => Processes.StateDirectory;

        public ContainersClient Containers { get; }

        public TasksClient Tasks { get; }

        public EventsClient Events { get; }

        public VersionClient Version { get; }

        public NamespacesClient Namespaces { get; }

        private readonly ConcurrentDictionary<(string Namespace, string Id), SemaphoreSlim> _execStartTurns = new();

        /// <summary>One exec Start per task at a time through this client.</summary>
        public SemaphoreSlim ExecStartTurn(string @namespace, string id) => _execStartTurns.GetOrAdd((@namespace, id), _ => new SemaphoreSlim(1, 1));

        public void TaskDeleted(string @namespace, string id) => _execStartTurns.TryRemove((@namespace, id), out _);

        /// <summary>The client goes away: its ends of the FIFOs close, the FIFOs of live processes stay for a reattach.</summary>
        public async ValueTask DisposeAsync()
        {
            await Processes.DisposeAsync();
            _channel.Dispose();
        }

        private async Task CloseStdinAsync(ProcessKey key, CancellationToken ct)
        {
            try
            {
                await Tasks.CloseIOAsync(new CloseIORequest { ContainerId = key.ContainerId, ExecId = key.ExecId ?? "", Stdin = true },
                    new CallOptions(new Metadata { { "containerd-namespace", key.Namespace } }, cancellationToken: ct));
            }
            catch (RpcException e)
            {
                throw GrpcStatusMapping.ToException(e, ct);
            }
        }
    }
}
