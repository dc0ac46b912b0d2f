using ActorRuntime.Events;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Cgroups.V1;
using ActorRuntime.Protocol.Events;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;
using Google.Protobuf.WellKnownTypes;
using ShimStatus = ActorRuntime.Protocol.Types.Status;

namespace ActorRuntime.TestKit;

/// <summary>The Task API as the fake serves it: each call passes the fault switch, then mimics the runc shim.</summary>
public sealed partial class FakeShim
{
    public override async Task<ConnectResponse> Connect(ConnectRequest r, TtrpcCallContext c)
    {
        await Enter(TaskApi.Methods.Connect, c);
        return new ConnectResponse { ShimPid = ShimPid, TaskPid = PidOf(r.Id) ?? 0 };
    }

    /// <summary>The options each task was created with (the Any of CreateTaskRequest.options; null when none was sent).</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, Google.Protobuf.WellKnownTypes.Any?> CreateOptions { get; } = new();

    /// <summary>The checkpoint directory each task was restored from (CreateTaskRequest.checkpoint; "" when created anew).</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, string> CreateCheckpoints { get; } = new();

    /// <summary>Every Checkpoint request, in arrival order.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<CheckpointTaskRequest> Checkpoints { get; } = new();

    public override async Task<CreateTaskResponse> Create(CreateTaskRequest r, TtrpcCallContext c)
    {
        await Enter(TaskApi.Methods.Create, c);
        CreateOptions[r.Id] = r.Options;
        CreateCheckpoints[r.Id] = r.Checkpoint;
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
        Checkpoints.Enqueue(r);
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
}
