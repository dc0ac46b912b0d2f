using ActorRuntime.Configuration;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Cgroups.V1;
using ActorRuntime.Protocol.Runc;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;
using Google.Protobuf.WellKnownTypes;

namespace ActorRuntime.Shims;

/// <summary>
/// The one way the runtime talks to a shim: its ttrpc connection and every Task API call made on it — Connect and
/// State when loading, the task and exec calls, Shutdown at teardown — plus the translations between the runtime's
/// records and the shim's messages. Every call but Wait carries a deadline (load, call, state or shutdown timeout), so
/// a wedged shim fails only its own container's calls.
/// </summary>
internal sealed class ShimConnection : IAsyncDisposable
{
    private readonly ShimTaskClient _client;
    private readonly RuntimeSettings _timeouts;

    private ShimConnection(TtrpcClient client, RuntimeSettings timeouts)
    {
        _client = new ShimTaskClient(client);
        _timeouts = timeouts;
    }

    /// <summary>Completes when the connection is gone (the shim exited or died); carries the error, null for a clean close.</summary>
    public Task<Exception?> Closed => _client.Connection.Closed;

    private CallOptions Bounded => new(_timeouts.CallTimeout);

    private CallOptions Query => new(_timeouts.StateTimeout);

    /// <summary>Dials the shim and verifies it with Connect, all under the load timeout, as containerd's loadShim does.</summary>
    public static async Task<ShimConnection> OpenAsync(string address, string containerId, RuntimeSettings timeouts)
    {
        using var deadline = new CancellationTokenSource(timeouts.LoadTimeout);
        var client = await TtrpcClient.ConnectAsync(address, deadline.Token).ConfigureAwait(false);
        var connection = new ShimConnection(client, timeouts);
        try
        {
            await connection._client.ConnectAsync(new ConnectRequest { Id = containerId },
                new CallOptions(timeouts.LoadTimeout), deadline.Token).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async Task<uint> CreateAsync(TaskProtocol.Create c, string bundle, RuncOptions? runcOptions)
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
        // The container's own options win, field by field, over the runtime's runc settings: a client that only sets the
        // IO owner (as moby and our clients do on every start) keeps the runtime's runc root and binary.
        if (c.RuntimeOptions is { Length: > 0 } own)
        {
            var given = Google.Protobuf.WellKnownTypes.Any.Parser.ParseFrom(own);
            if (runcOptions is not null && TypeUrls.TryUnpack(given, Options.Parser, out var ownRunc))
            {
                var merged = runcOptions.ToProtobuf();
                merged.MergeFrom(ownRunc);
                request.Options = TypeUrls.Pack(merged);
            }
            else
            {
                request.Options = given;
            }
        }
        else if (runcOptions is not null)
        {
            request.Options = TypeUrls.Pack(runcOptions.ToProtobuf());
        }
        return (await _client.CreateAsync(request, Bounded).ConfigureAwait(false)).Pid;
    }

    public async Task<uint> StartAsync(string id, string execId) =>
        (await _client.StartAsync(new StartRequest { Id = id, ExecId = execId }, Bounded).ConfigureAwait(false)).Pid;

    public Task KillAsync(string id, string execId, uint signal, bool all) =>
        _client.KillAsync(new KillRequest { Id = id, ExecId = execId, Signal = signal, All = all }, Bounded);

    public Task PauseAsync(string id) => _client.PauseAsync(new PauseRequest { Id = id }, Bounded);

    public Task ResumeAsync(string id) => _client.ResumeAsync(new ResumeRequest { Id = id }, Bounded);

    public Task ResizePtyAsync(string id, string execId, uint width, uint height) =>
        _client.ResizePtyAsync(new ResizePtyRequest { Id = id, ExecId = execId, Width = width, Height = height }, Bounded);

    public Task CloseIOAsync(string id, string execId, bool stdin) =>
        _client.CloseIOAsync(new CloseIORequest { Id = id, ExecId = execId, Stdin = stdin }, Bounded);

    public Task CheckpointAsync(TaskProtocol.Checkpoint c) =>
        _client.CheckpointAsync(new CheckpointTaskRequest
        {
            Id = c.ContainerId,
            Path = c.Options.ImagePath,
            Options = TypeUrls.Pack(new Protocol.Runc.CheckpointOptions
            {
                Exit = c.Options.Exit,
                OpenTcp = c.Options.OpenTcp,
                ExternalUnixSockets = c.Options.ExternalUnixSockets,
                Terminal = c.Options.Terminal,
                FileLocks = c.Options.FileLocks,
                ImagePath = c.Options.ImagePath,
                WorkPath = c.Options.WorkPath ?? "",
            }),
        }, Bounded);

    public Task UpdateAsync(TaskProtocol.Update u)
    {
        var request = new UpdateTaskRequest
        {
            Id = u.ContainerId,
            Resources = TypeUrls.PackJson(TypeUrls.OciLinuxResources, u.ResourcesJson),
        };
        if (u.Annotations is not null) foreach (var (k, v) in u.Annotations) request.Annotations[k] = v;
        return _client.UpdateAsync(request, Bounded);
    }

    public Task ExecAsync(TaskProtocol.Exec e) =>
        _client.ExecAsync(new ExecProcessRequest
        {
            Id = e.ContainerId,
            ExecId = e.ExecId,
            Terminal = e.Stdio.Terminal,
            Stdin = e.Stdio.Stdin,
            Stdout = e.Stdio.Stdout,
            Stderr = e.Stdio.Stderr,
            Spec = TypeUrls.PackJson(TypeUrls.OciProcess, e.SpecJson),
        }, Bounded);

    public async Task<TaskProtocol.Exited> DeleteAsync(string id, string execId)
    {
        var r = await _client.DeleteAsync(new DeleteRequest { Id = id, ExecId = execId }, Bounded).ConfigureAwait(false);
        return new TaskProtocol.Exited(id, execId, r.Pid, r.ExitStatus, GoTime.ToDateTimeOffset(r.ExitedAt) ?? DateTimeOffset.UtcNow);
    }

    /// <summary>No deadline: the shim's Wait blocks until the process exits and ignores timeouts anyway.</summary>
    public async Task<(uint Status, DateTimeOffset ExitedAt)> WaitAsync(string id, string execId, CancellationToken ct)
    {
        var r = await _client.WaitAsync(new WaitRequest { Id = id, ExecId = execId }, ct: ct).ConfigureAwait(false);
        return (r.ExitStatus, GoTime.ToDateTimeOffset(r.ExitedAt) ?? DateTimeOffset.UtcNow);
    }

    /// <summary>
    /// Under the state timeout, or <paramref name="deadline"/> (the load timeout when reloading). On a closed connection
    /// State answers NotFound, as containerd's shimTask.State does with ttrpc.ErrClosed.
    /// </summary>
    public async Task<StateResponse> StateAsync(string id, string execId, TimeSpan? deadline = null)
    {
        try
        {
            return await _client.StateAsync(new StateRequest { Id = id, ExecId = execId },
                deadline is { } d ? new CallOptions(d) : Query).ConfigureAwait(false);
        }
        catch (TtrpcClosedException e)
        {
            throw new NotFoundException($"{id}: {e.Message}: not found");
        }
    }

    public async Task<TaskProtocol.PidList> PidsAsync(string id)
    {
        var r = await _client.PidsAsync(new PidsRequest { Id = id }, Query).ConfigureAwait(false);
        var entries = r.Processes.Select(p =>
        {
            var execId = TypeUrls.TryUnpack(p.Info, ProcessDetails.Parser, out var details) ? details.ExecId : "";
            return new TaskProtocol.ProcessEntry(p.Pid, execId);
        }).ToList();
        return new TaskProtocol.PidList(id, entries);
    }

    public async Task<TaskProtocol.StatsResult> StatsAsync(string id)
    {
        var r = await _client.StatsAsync(new StatsRequest { Id = id }, Query).ConfigureAwait(false);
        var any = r.Stats ?? new Any();
        if (TypeUrls.TryUnpack(any, Metrics.Parser, out var m))
            return new TaskProtocol.StatsResult(id, m.Cpu?.Usage?.Total ?? 0, m.Memory?.Usage?.Usage ?? 0,
                m.Memory?.Usage?.Limit ?? 0, m.Pids?.Current ?? 0, any.TypeUrl, any.Value.ToByteArray());
        return new TaskProtocol.StatsResult(id, 0, 0, 0, 0, any.TypeUrl, any.Value.ToByteArray());
    }

    /// <summary>The task API's Shutdown, as a command: one bounded call.</summary>
    public Task ShutdownAsync(string id, bool now) =>
        _client.ShutdownAsync(new ShutdownRequest { Id = id, Now = now }, Bounded);

    /// <summary>
    /// Teardown: Shutdown, then wait for the shim to close the connection — its sign that it exited (~20 ms after
    /// answering) — each under the shutdown timeout. Throws <see cref="TtrpcException"/> or <see cref="TimeoutException"/>
    /// when the shim refuses or stays; the caller then cleans up after it.
    /// </summary>
    public async Task ShutDownShimAsync(string id)
    {
        try
        {
            await _client.ShutdownAsync(new ShutdownRequest { Id = id }, new CallOptions(_timeouts.ShutdownTimeout))
                .ConfigureAwait(false);
        }
        catch (TtrpcClosedException)
        {
            // The shim exited before its reply was read: that is what Shutdown asked for (containerd agrees).
        }
        await Closed.WaitAsync(_timeouts.ShutdownTimeout).ConfigureAwait(false);
    }

    /// <summary>The record as the shim's State reply shows it.</summary>
    public static ProcessRecord Observe(ProcessRecord record, StateResponse s) =>
        record.Observed(s.Pid, (ProcessStatus)(int)s.Status, s.ExitStatus, GoTime.ToDateTimeOffset(s.ExitedAt));

    public ValueTask DisposeAsync() => _client.Connection.DisposeAsync();
}
