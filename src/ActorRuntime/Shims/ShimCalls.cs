using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Cgroups.V1;
using ActorRuntime.Protocol.Runc;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Google.Protobuf.WellKnownTypes;
using ShimStatus = ActorRuntime.Protocol.Types.Status;

namespace ActorRuntime.Shims;

/// <summary>
/// Translations between the runtime's message records and the shim's Task API, plus the call itself.
/// Every call but Wait carries the per-call deadline so a wedged shim fails only its own container's calls.
/// </summary>
internal sealed class ShimCalls(ShimTaskClient client, TimeSpan callTimeout, TimeSpan stateTimeout)
{
    private CallOptions Bounded => new(callTimeout);

    private CallOptions Query => new(stateTimeout);

    public ShimTaskClient Client => client;

    public async Task<uint> CreateAsync(TaskProtocol.Create c, string bundle, Options? runcOptions)
    {
        var request = new CreateTaskRequest
        {
            Id = c.ContainerId,
            Bundle = bundle,
            Terminal = c.Stdio.Terminal,
            Stdin = c.Stdio.Stdin,
            Stdout = c.Stdio.Stdout,
            Stderr = c.Stdio.Stderr,
            Checkpoint = c.Checkpoint ?? "",
        };
        foreach (var m in c.Rootfs)
            request.Rootfs.Add(new Protocol.Types.Mount { Type = m.Type, Source = m.Source, Options = { m.Options } });
        if (runcOptions is not null) request.Options = TypeUrls.Pack(runcOptions);
        var response = await client.CreateAsync(request, Bounded).ConfigureAwait(false);
        return response.Pid;
    }

    public async Task<uint> StartAsync(string id, string execId) =>
        (await client.StartAsync(new StartRequest { Id = id, ExecId = execId }, Bounded).ConfigureAwait(false)).Pid;

    public Task KillAsync(string id, string execId, uint signal, bool all) =>
        client.KillAsync(new KillRequest { Id = id, ExecId = execId, Signal = signal, All = all }, Bounded);

    public Task PauseAsync(string id) => client.PauseAsync(new PauseRequest { Id = id }, Bounded);

    public Task ResumeAsync(string id) => client.ResumeAsync(new ResumeRequest { Id = id }, Bounded);

    public Task ResizePtyAsync(string id, string execId, uint width, uint height) =>
        client.ResizePtyAsync(new ResizePtyRequest { Id = id, ExecId = execId, Width = width, Height = height }, Bounded);

    public Task CloseIOAsync(string id, string execId, bool stdin) =>
        client.CloseIOAsync(new CloseIORequest { Id = id, ExecId = execId, Stdin = stdin }, Bounded);

    public Task CheckpointAsync(TaskProtocol.Checkpoint c) =>
        client.CheckpointAsync(new CheckpointTaskRequest
        {
            Id = c.ContainerId,
            Path = c.Path,
            Options = TypeUrls.Pack(new CheckpointOptions { Exit = c.Exit, ImagePath = c.Path }),
        }, Bounded);

    public Task UpdateAsync(TaskProtocol.Update u)
    {
        var request = new UpdateTaskRequest
        {
            Id = u.ContainerId,
            Resources = TypeUrls.PackJson(TypeUrls.OciLinuxResources, u.ResourcesJson),
        };
        if (u.Annotations is not null) foreach (var (k, v) in u.Annotations) request.Annotations[k] = v;
        return client.UpdateAsync(request, Bounded);
    }

    public Task ExecAsync(TaskProtocol.Exec e) =>
        client.ExecAsync(new ExecProcessRequest
        {
            Id = e.ContainerId,
            ExecId = e.ExecId,
            Terminal = e.Stdio.Terminal,
            Stdin = e.Stdio.Stdin,
            Stdout = e.Stdio.Stdout,
            Stderr = e.Stdio.Stderr,
            Spec = TypeUrls.PackJson(TypeUrls.OciProcess, e.SpecJson),
        }, Bounded);

    public async Task<(uint Pid, uint Status, DateTimeOffset ExitedAt)> DeleteAsync(string id, string execId)
    {
        var r = await client.DeleteAsync(new DeleteRequest { Id = id, ExecId = execId }, Bounded).ConfigureAwait(false);
        return (r.Pid, r.ExitStatus, GoTime.ToDateTimeOffset(r.ExitedAt) ?? DateTimeOffset.UtcNow);
    }

    /// <summary>No deadline: the shim's Wait blocks until the process exits and ignores timeouts anyway.</summary>
    public async Task<(uint Status, DateTimeOffset ExitedAt)> WaitAsync(string id, string execId, CancellationToken ct)
    {
        var r = await client.WaitAsync(new WaitRequest { Id = id, ExecId = execId }, ct: ct).ConfigureAwait(false);
        return (r.ExitStatus, GoTime.ToDateTimeOffset(r.ExitedAt) ?? DateTimeOffset.UtcNow);
    }

    /// <summary>On a closed connection State answers NotFound, as containerd's shimTask.State does with ttrpc.ErrClosed.</summary>
    public async Task<StateResponse> StateAsync(string id, string execId)
    {
        try
        {
            return await client.StateAsync(new StateRequest { Id = id, ExecId = execId }, Query).ConfigureAwait(false);
        }
        catch (TtrpcClosedException e)
        {
            throw new NotFoundException($"{id}: {e.Message}: not found");
        }
    }

    public async Task<TaskProtocol.PidList> PidsAsync(string id)
    {
        var r = await client.PidsAsync(new PidsRequest { Id = id }, Query).ConfigureAwait(false);
        var entries = r.Processes.Select(p =>
        {
            var execId = TypeUrls.TryUnpack(p.Info, ProcessDetails.Parser, out var details) ? details.ExecId : "";
            return new TaskProtocol.ProcessEntry(p.Pid, execId);
        }).ToList();
        return new TaskProtocol.PidList(id, entries);
    }

    public async Task<TaskProtocol.StatsResult> StatsAsync(string id)
    {
        var r = await client.StatsAsync(new StatsRequest { Id = id }, Query).ConfigureAwait(false);
        var any = r.Stats ?? new Any();
        if (TypeUrls.TryUnpack(any, Metrics.Parser, out var m))
            return new TaskProtocol.StatsResult(id, m.Cpu?.Usage?.Total ?? 0, m.Memory?.Usage?.Usage ?? 0,
                m.Memory?.Usage?.Limit ?? 0, m.Pids?.Current ?? 0, any.TypeUrl, any.Value.ToByteArray());
        return new TaskProtocol.StatsResult(id, 0, 0, 0, 0, any.TypeUrl, any.Value.ToByteArray());
    }

    public Task ShutdownAsync(string id, bool now) =>
        client.ShutdownAsync(new ShutdownRequest { Id = id, Now = now }, Bounded);

    public static ProcessStatus ToStatus(ShimStatus s) => (ProcessStatus)(int)s;

    /// <summary>The record as the shim's State reply shows it.</summary>
    public static ProcessRecord Observe(ProcessRecord record, StateResponse s) =>
        record.Observed(s.Pid, ToStatus(s.Status), s.ExitStatus, GoTime.ToDateTimeOffset(s.ExitedAt));

    /// <summary>Maps any exception from a call to the Failed reply a caller gets.</summary>
    public static TaskProtocol.Failed Failure(string containerId, Exception e) => e switch
    {
        TtrpcException t => new TaskProtocol.Failed(containerId, t.Code, t.Message),
        TaskCanceledException or OperationCanceledException => new TaskProtocol.Failed(containerId, TtrpcCode.Canceled, e.Message),
        AggregateException { InnerException: { } inner } => Failure(containerId, inner),
        _ => new TaskProtocol.Failed(containerId, TtrpcCode.Unknown, e.Message),
    };
}
