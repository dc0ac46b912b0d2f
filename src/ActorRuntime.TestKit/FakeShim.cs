using System.Collections.Concurrent;
using System.Net.Sockets;
using ActorRuntime.Events;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Cgroups.V1;
using ActorRuntime.Protocol.Events;
using ActorRuntime.Protocol.EventsService;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using ShimStatus = ActorRuntime.Protocol.Types.Status;

namespace ActorRuntime.TestKit;

/// <summary>
/// An in-process shim serving the Task API over real ttrpc on a real unix socket, with the runc shim's semantics
/// where tests depend on them (processes run until killed; Delete only when stopped; Shutdown ignored while a
/// container is registered) and switches for faults: per-method delay/failure/hang, events forwarded twice,
/// connection drops and death.
/// </summary>
public sealed class FakeShim : TaskServiceBase, IAsyncDisposable
{
    private static int _nextPid = 40_000;
    private readonly ConcurrentDictionary<(string Id, string ExecId), FakeProcess> _processes = new();
    private readonly ConcurrentDictionary<string, ShimFault> _faults = new();
    private readonly SemaphoreSlim _eventsLock = new(1, 1);
    private readonly CancellationTokenSource _dead = new();
    private readonly string _namespace;
    private readonly string _eventsAddress;
    private TtrpcClient? _events;
    private TtrpcServer _server;

    public FakeShim(string socketPath, string ns, string eventsAddress)
    {
        _namespace = ns;
        _eventsAddress = eventsAddress;
        SocketPath = socketPath;
        _server = Listen();
    }

    public string SocketPath { get; }

    public string Address => UnixSocket.Scheme + SocketPath;

    public uint ShimPid { get; } = (uint)Interlocked.Increment(ref _nextPid);

    /// <summary>Every forwarded event is sent twice (as a shim retrying after a lost reply would).</summary>
    public bool ForwardTwice { get; set; }

    public bool IsDead => _dead.IsCancellationRequested;

    /// <summary>Calls per method name, for assertions.</summary>
    public ConcurrentDictionary<string, int> Calls { get; } = new();

    public void Inject(string method, ShimFault fault) => _faults[method] = fault;

    public void Clear(string method) => _faults.TryRemove(method, out _);

    /// <summary>Every method hangs: the shim looks alive (socket open) but answers nothing.</summary>
    public void Wedge()
    {
        foreach (var method in typeof(TaskApi.Methods).GetFields().Select(f => (string)f.GetValue(null)!))
            _faults[method] = new ShimFault.Hang();
    }

    /// <summary>The container's init (or an exec) exits with this status, as if it ended on its own.</summary>
    public Task ExitAsync(string containerId, uint status, string execId = "")
    {
        if (!_processes.TryGetValue((containerId, execId), out var p) || !p.TryExit(status)) return Task.CompletedTask;
        return PublishExitAsync(p);
    }

    public ProcessStatus? StatusOf(string containerId, string execId = "") =>
        _processes.TryGetValue((containerId, execId), out var p) ? p.Status : null;

    public uint? PidOf(string containerId, string execId = "") =>
        _processes.TryGetValue((containerId, execId), out var p) ? p.Pid : null;

    /// <summary>Closes every connection but keeps listening (a dropped connection, not a dead shim).</summary>
    public async Task DropConnectionsAsync()
    {
        await _server.DisposeAsync().ConfigureAwait(false);
        _server = Listen();
    }

    /// <summary>The shim process dies: socket gone, connections closed, processes keep their state for delete.</summary>
    public async Task DieAsync()
    {
        if (_dead.IsCancellationRequested) return;
        _dead.Cancel();
        await _server.DisposeAsync().ConfigureAwait(false);
        if (_events is not null) await _events.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// The shim process is SIGKILLed: as <see cref="DieAsync"/>, but its socket file stays behind, refusing connections,
    /// until someone removes it.
    /// </summary>
    public async Task KillAsync()
    {
        if (IsDead) return;
        await DieAsync().ConfigureAwait(false);
        // Bound and never listening: the file exists and every connect is refused, as after a killed listener.
        using var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        stale.Bind(new UnixDomainSocketEndPoint(SocketPath));
    }

    /// <summary>What the shim binary's `delete` would report: pid of init, 137 (it kills what is left), now.</summary>
    public DeleteResponse CleanupResponse(string containerId)
    {
        var pid = PidOf(containerId) ?? uint.MaxValue;
        return new DeleteResponse { Pid = pid, ExitStatus = 137, ExitedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow) };
    }

    private TtrpcServer Listen() => TtrpcServer.Listen(SocketPath, BindTo(new TtrpcServiceRegistry()));

    private async Task Enter(string method, TtrpcCallContext context)
    {
        Calls.AddOrUpdate(method, 1, (_, n) => n + 1);
        switch (_faults.GetValueOrDefault(method))
        {
            case ShimFault.Delay d:
                await Task.Delay(d.By, context.CancellationToken).ConfigureAwait(false);
                break;
            case ShimFault.Fail f:
                throw TtrpcException.FromStatus(f.Code, f.Message);
            case ShimFault.Gate g:
                await g.Open.WaitAsync(CancellationTokenSource.CreateLinkedTokenSource(
                    context.CancellationToken, _dead.Token).Token).ConfigureAwait(false);
                break;
            case ShimFault.Hang:
                await Task.Delay(Timeout.Infinite, CancellationTokenSource.CreateLinkedTokenSource(
                    context.CancellationToken, _dead.Token).Token).ConfigureAwait(false);
                break;
        }
    }

    private FakeProcess Get(string id, string execId = "")
    {
        if (!_processes.TryGetValue((id, ""), out _)) throw new NotFoundException("container not created: not found");
        if (!_processes.TryGetValue((id, execId), out var p)) throw new NotFoundException($"process does not exist {execId}: not found");
        return p;
    }

    public override async Task<ConnectResponse> Connect(ConnectRequest r, TtrpcCallContext c)
    {
        await Enter(TaskApi.Methods.Connect, c);
        return new ConnectResponse { ShimPid = ShimPid, TaskPid = PidOf(r.Id) ?? 0 };
    }

    public override async Task<CreateTaskResponse> Create(CreateTaskRequest r, TtrpcCallContext c)
    {
        await Enter(TaskApi.Methods.Create, c);
        var p = new FakeProcess(r.Id, "", (uint)Interlocked.Increment(ref _nextPid), r.Bundle,
            new Stdio(r.Stdin, r.Stdout, r.Stderr, r.Terminal));
        if (!_processes.TryAdd((r.Id, ""), p))
            throw new TtrpcException(TtrpcCode.Unknown,
                "OCI runtime create failed: runc create failed: container with given ID already exists");
        await ForwardAsync(Topics.Create, new TaskCreate
        {
            ContainerId = r.Id, Bundle = r.Bundle, Pid = p.Pid,
            Io = new TaskIO { Stdin = r.Stdin, Stdout = r.Stdout, Stderr = r.Stderr, Terminal = r.Terminal },
        });
        return new CreateTaskResponse { Pid = p.Pid };
    }

    public override async Task<StartResponse> Start(StartRequest r, TtrpcCallContext c)
    {
        await Enter(TaskApi.Methods.Start, c);
        var p = Get(r.Id, r.ExecId);
        if (p.Status != ProcessStatus.Created)
            throw new TtrpcException(TtrpcCode.Unknown,
                $"cannot start a {(p.HasExited ? "stopped" : "running")} process");
        p.Status = ProcessStatus.Running;
        if (r.ExecId.Length == 0)
            await ForwardAsync(Topics.Start, new TaskStart { ContainerId = r.Id, Pid = p.Pid });
        else
            await ForwardAsync(Topics.ExecStarted, new TaskExecStarted { ContainerId = r.Id, ExecId = r.ExecId, Pid = p.Pid });
        return new StartResponse { Pid = p.Pid };
    }

    public override async Task<Empty> Kill(KillRequest r, TtrpcCallContext c)
    {
        await Enter(TaskApi.Methods.Kill, c);
        var p = Get(r.Id, r.ExecId);
        if (p.HasExited)
        {
            if (r.All) return new Empty();
            throw new NotFoundException("process already finished: not found");
        }
        if (p.TryExit(128 + r.Signal)) await PublishExitAsync(p);
        return new Empty();
    }

    public override async Task<WaitResponse> Wait(WaitRequest r, TtrpcCallContext c)
    {
        await Enter(TaskApi.Methods.Wait, c);
        var (status, at) = await Get(r.Id, r.ExecId).Exit.WaitAsync(_dead.Token);
        return new WaitResponse { ExitStatus = status, ExitedAt = Timestamp.FromDateTimeOffset(at) };
    }

    public override async Task<StateResponse> State(StateRequest r, TtrpcCallContext c)
    {
        await Enter(TaskApi.Methods.State, c);
        var p = Get(r.Id, r.ExecId);
        var exited = p.HasExited ? p.Exit.Result : ((uint)0, (DateTimeOffset?)null);
        return new StateResponse
        {
            Id = r.ExecId.Length == 0 ? r.Id : r.ExecId, ExecId = r.ExecId, Bundle = p.Bundle, Pid = p.Pid,
            Status = (ShimStatus)(int)p.Status, Stdin = p.Stdio.Stdin, Stdout = p.Stdio.Stdout, Stderr = p.Stdio.Stderr,
            Terminal = p.Stdio.Terminal, ExitStatus = exited.Item1, ExitedAt = GoTime.From(exited.Item2),
        };
    }

    public override async Task<DeleteResponse> Delete(DeleteRequest r, TtrpcCallContext c)
    {
        await Enter(TaskApi.Methods.Delete, c);
        var p = Get(r.Id, r.ExecId);
        if (p.Status is ProcessStatus.Running or ProcessStatus.Paused)
            throw new TtrpcException(TtrpcCode.Unknown, "cannot delete a running process");
        if (!p.HasExited) p.TryExit(0);
        var (status, at) = p.Exit.Result;
        _processes.TryRemove((r.Id, r.ExecId), out _);
        if (r.ExecId.Length == 0)
            await ForwardAsync(Topics.Delete, new TaskDelete
            {
                ContainerId = r.Id, Pid = p.Pid, ExitStatus = status, ExitedAt = Timestamp.FromDateTimeOffset(at),
            });
        return new DeleteResponse { Pid = p.Pid, ExitStatus = status, ExitedAt = Timestamp.FromDateTimeOffset(at) };
    }

    public override async Task<Empty> Exec(ExecProcessRequest r, TtrpcCallContext c)
    {
        await Enter(TaskApi.Methods.Exec, c);
        Get(r.Id);
        var p = new FakeProcess(r.Id, r.ExecId, (uint)Interlocked.Increment(ref _nextPid), "",
            new Stdio(r.Stdin, r.Stdout, r.Stderr, r.Terminal));
        if (!_processes.TryAdd((r.Id, r.ExecId), p)) throw new AlreadyExistsException($"id {r.ExecId}: already exists");
        await ForwardAsync(Topics.ExecAdded, new TaskExecAdded { ContainerId = r.Id, ExecId = r.ExecId });
        return new Empty();
    }

    public override async Task<Empty> Pause(PauseRequest r, TtrpcCallContext c)
    {
        await Enter(TaskApi.Methods.Pause, c);
        var p = Get(r.Id);
        if (p.Status != ProcessStatus.Running)
            throw new TtrpcException(TtrpcCode.Unknown, $"cannot pause task in {p.Status.ToString().ToLowerInvariant()} state");
        p.Status = ProcessStatus.Paused;
        await ForwardAsync(Topics.Paused, new TaskPaused { ContainerId = r.Id });
        return new Empty();
    }

    public override async Task<Empty> Resume(ResumeRequest r, TtrpcCallContext c)
    {
        await Enter(TaskApi.Methods.Resume, c);
        var p = Get(r.Id);
        p.Status = ProcessStatus.Running;
        await ForwardAsync(Topics.Resumed, new TaskResumed { ContainerId = r.Id });
        return new Empty();
    }

    public override async Task<PidsResponse> Pids(PidsRequest r, TtrpcCallContext c)
    {
        await Enter(TaskApi.Methods.Pids, c);
        var response = new PidsResponse();
        foreach (var p in _processes.Values.Where(p => p.ContainerId == r.Id && !p.HasExited && p.Status != ProcessStatus.Created))
        {
            var info = new Protocol.Types.ProcessInfo { Pid = p.Pid };
            if (p.ExecId.Length > 0) info.Info = TypeUrls.Pack(new Protocol.Runc.ProcessDetails { ExecId = p.ExecId });
            response.Processes.Add(info);
        }
        return response;
    }

    public override async Task<StatsResponse> Stats(StatsRequest r, TtrpcCallContext c)
    {
        await Enter(TaskApi.Methods.Stats, c);
        var running = _processes.Values.Count(p => p.ContainerId == r.Id && !p.HasExited);
        var metrics = new Metrics { Pids = new PidsStat { Current = (ulong)running } };
        return new StatsResponse { Stats = TypeUrls.Pack(metrics) };
    }

    public override async Task<Empty> ResizePty(ResizePtyRequest r, TtrpcCallContext c)
    {
        await Enter(TaskApi.Methods.ResizePty, c);
        Get(r.Id, r.ExecId);
        return new Empty();
    }

    public override async Task<Empty> CloseIO(CloseIORequest r, TtrpcCallContext c)
    {
        await Enter(TaskApi.Methods.CloseIO, c);
        Get(r.Id, r.ExecId);
        return new Empty();
    }

    public override async Task<Empty> Update(UpdateTaskRequest r, TtrpcCallContext c)
    {
        await Enter(TaskApi.Methods.Update, c);
        Get(r.Id);
        return new Empty();
    }

    public override async Task<Empty> Checkpoint(CheckpointTaskRequest r, TtrpcCallContext c)
    {
        await Enter(TaskApi.Methods.Checkpoint, c);
        Get(r.Id);
        await ForwardAsync(Topics.Checkpointed, new TaskCheckpointed { ContainerId = r.Id, Checkpoint = r.Path });
        return new Empty();
    }

    public override async Task<Empty> Shutdown(ShutdownRequest r, TtrpcCallContext c)
    {
        await Enter(TaskApi.Methods.Shutdown, c);
        // Like the runc shim: ignored while any container is registered; otherwise exit shortly after replying.
        if (_processes.IsEmpty)
            _ = Task.Delay(20).ContinueWith(_ => DieAsync(), TaskScheduler.Default).Unwrap();
        return new Empty();
    }

    private Task PublishExitAsync(FakeProcess p)
    {
        var (status, at) = p.Exit.Result;
        return ForwardAsync(Topics.Exit, new TaskExit
        {
            ContainerId = p.ContainerId, Id = p.ExecId.Length == 0 ? p.ContainerId : p.ExecId, Pid = p.Pid,
            ExitStatus = status, ExitedAt = Timestamp.FromDateTimeOffset(at),
        });
    }

    /// <summary>Forwards like the runc shim: lazily connected, one connection, namespace metadata, bare type URL.</summary>
    private async Task ForwardAsync(string topic, IMessage message)
    {
        if (IsDead) return;
        var envelope = new Envelope
        {
            Timestamp = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), Namespace = _namespace, Topic = topic,
            Event = TypeUrls.Pack(message),
        };
        await _eventsLock.WaitAsync().ConfigureAwait(false);
        try
        {
            for (var copy = 0; copy < (ForwardTwice ? 2 : 1); copy++)
            {
                try
                {
                    if (_events is null || _events.IsClosed) _events = await TtrpcClient.ConnectAsync(_eventsAddress);
                    await _events.ForwardAsync(envelope);
                }
                catch (TtrpcException)
                {
                    // The runc shim retries later and eventually drops; the runtime must not depend on any one forward.
                }
            }
        }
        finally
        {
            _eventsLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DieAsync().ConfigureAwait(false);
        _eventsLock.Dispose();
    }
}
