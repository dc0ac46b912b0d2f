using System.Collections.Concurrent;
using System.Reflection;
using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Hosting;
using ActorRuntime.Protocol;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;
using CheckpointOptions = ActorRuntime.Tasks.CheckpointOptions;
using Akka.Actor;

namespace ActorRuntime.Client.Embedded;

/// <summary>
/// <see cref="IContainerClient"/> in-process, over a running <see cref="ContainerRuntime"/>'s actors: no socket, no
/// serialisation. Made with <see cref="ContainerRuntimeClientExtensions.AsClient"/>. The client owns the stdio FIFOs of
/// the processes it starts (under its state directory) and removes them when the process is deleted or fails to start.
/// </summary>
public sealed class EmbeddedContainerClient : IContainerClient
{
    private static readonly string RuntimeVersionText = typeof(ContainerRuntime).Assembly
        .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    private readonly ContainerRuntime _runtime;
    private readonly AttachedProcesses _processes;

    internal EmbeddedContainerClient(ContainerRuntime runtime, string stateDirectory)
    {
        _runtime = runtime;
        _processes = new AttachedProcesses(stateDirectory, (key, ct) => key.ExecId is null
            ? runtime.InNamespace(key.Namespace).CloseIOAsync(key.ContainerId, ct)
            : runtime.InNamespace(key.Namespace).CloseExecIOAsync(key.ContainerId, key.ExecId, ct));
    }

    private EmbeddedContainerClient(ContainerRuntime runtime, AttachedProcesses processes)
    {
        (_runtime, _processes) = (runtime, processes);
    }

    public string Namespace => _runtime.Namespace;

    /// <summary>Where this client makes FIFOs: &lt;state&gt;/&lt;namespace&gt;/&lt;container&gt;/&lt;random&gt;/.</summary>
    public string StateDirectory => _processes.StateDirectory;

    public IContainerClient InNamespace(string @namespace)
    {
        Identifiers.Validate(@namespace, "namespace");
        return new EmbeddedContainerClient(_runtime.InNamespace(@namespace), _processes);
    }

    public Task<RuntimeVersion> VersionAsync(CancellationToken ct = default) =>
        Task.FromResult(new RuntimeVersion(RuntimeVersionText, "actorruntime"));

    public async Task<IReadOnlyList<string>> NamespacesAsync(CancellationToken ct = default) =>
        (await _runtime.ListNamespacesAsync(ct)).Select(n => n.Name).ToList();

    // ---- containers ----

    public async Task<ContainerInfo> CreateAsync(NewContainer container, CancellationToken ct = default)
    {
        if (container.Options is { } options && options.TypeUrl != TypeUrls.RuncOptions)
            throw TtrpcException.FromStatus(TtrpcCode.InvalidArgument,
                $"container {container.Id}: runtime options of type {options.TypeUrl} (only {TypeUrls.RuncOptions})");
        // Stored as containerd keeps it: the encoded Any.
        var any = container.Options is { } o ? new Any { TypeUrl = o.TypeUrl, Value = ByteString.CopyFrom(o.Value) }.ToByteArray() : null;
        return ToInfo(await _runtime.CreateContainerAsync(container.Id, container.SpecJson, container.Labels, container.Runtime, any, ct: ct));
    }

    public async Task<ContainerInfo> LoadAsync(string id, CancellationToken ct = default) =>
        ToInfo(await _runtime.GetContainerAsync(id, ct));

    public async Task<IReadOnlyList<ContainerInfo>> ListAsync(CancellationToken ct = default) =>
        (await _runtime.ListContainersAsync(ct)).Select(ToInfo).ToList();

    public async Task DeleteAsync(string id, CancellationToken ct = default)
    {
        if (await TaskExistsAsync(id, ct))
            throw TtrpcException.FromStatus(TtrpcCode.FailedPrecondition, $"container {id}: its task must be deleted first");
        await _runtime.DeleteContainerAsync(id, ct);
        _processes.ContainerDeleted(Namespace, id);
    }

    public async Task<ExitResult?> ForceDeleteAsync(string id, CancellationToken ct = default)
    {
        ExitResult? exit = null;
        if (await TaskExistsAsync(id, ct))
        {
            await IgnoreGoneAsync(() => _runtime.KillAsync(id, 9, all: true, ct));
            await _runtime.WaitAsync(id, ct);
            exit = await DeleteTaskAsync(id, ct);
        }
        await DeleteAsync(id, ct);
        return exit;
    }

    // ---- the task ----

    public async Task<StartedProcess> StartAsync(string id, StartOptions options, CancellationToken ct = default)
    {
        var container = await _runtime.GetContainerAsync(id, ct);
        using var start = _processes.BeginStart(new ProcessKey(Namespace, id, null));
        var owner = IoOwner.OfContainerSpec(container.SpecJson);
        var io = options.Attach is null ? null
            : ProcessIo.Create(_processes.ContainerDirectory(Namespace, id), id, options.WithStdin, options.Terminal,
                ((int)owner.Uid, (int)owner.Gid));
        var taskOptions = IoOwner.TaskOptions(ToInfo(container).Options, owner, checkpointDirectory: null);
        return await CreateThenStartAsync(id, null, start, io, options.Attach,
            () => _runtime.CreateAsync(id, container.SpecJson, options.Rootfs ?? [], io?.Paths ?? LogStdio(options.LogPath, options.Terminal),
                ct, taskOptions.ToByteArray(), checkpoint: options.CheckpointDirectory is { } restore ? Path.GetFullPath(restore) : null),
            () => _runtime.StartAsync(id, ct),
            async () =>
            {
                // The created task goes (the shim and its bundle with it).
                await IgnoreGoneAsync(() => _runtime.KillAsync(id, 9, all: true, CancellationToken.None));
                await IgnoreGoneAsync(() => _runtime.DeleteAsync(id, CancellationToken.None));
            }, ct);
    }

    public async Task<StartedProcess> ReattachAsync(string id, StdioAttach? attach, CancellationToken ct = default)
    {
        var state = await _runtime.StateAsync(id, ct);
        using var start = _processes.BeginStart(new ProcessKey(Namespace, id, null));
        var io = attach is null || state.Stdio.Stdout.Length == 0 || state.Stdio.Stdout.Contains("://")
            ? null
            : ProcessIo.Reopen(state.Stdio);
        if (io is not null)
        {
            try
            {
                await attach!(io, ct);
            }
            catch
            {
                await io.DetachAsync(); // the process runs on: its FIFOs stay
                throw;
            }
        }
        await start.SucceededAsync(io);
        return new StartedProcess(id, null, state.Pid, io);
    }

    public async Task<TaskStatusInfo> StatusAsync(string id, CancellationToken ct = default)
    {
        var s = await _runtime.StateAsync(id, ct);
        return new TaskStatusInfo(id, s.Pid, s.Status, s.ExitStatus, s.ExitedAt);
    }

    public Task PauseAsync(string id, CancellationToken ct = default) => _runtime.PauseAsync(id, ct);

    public Task ResumeAsync(string id, CancellationToken ct = default) => _runtime.ResumeAsync(id, ct);

    public async Task<ContainerStats> StatsAsync(string id, CancellationToken ct = default)
    {
        var stats = await _runtime.StatsAsync(id, ct);
        return StatsDecoder.Decode(id, stats.TypeUrl, stats.Raw, DateTimeOffset.UtcNow);
    }

    public async Task<IReadOnlyList<ProcessSummary>> SummaryAsync(string id, CancellationToken ct = default) =>
        (await _runtime.PidsAsync(id, ct)).Processes
            .Select(p => new ProcessSummary(p.Pid, p.ExecId.Length == 0 ? null : p.ExecId)).ToList();

    public Task UpdateResourcesAsync(string id, string linuxResourcesJson, CancellationToken ct = default) =>
        _runtime.UpdateAsync(id, linuxResourcesJson, ct);

    /// <summary>The shim (runc, CRIU) writes the image; paths are made absolute, since the shim's working directory is not ours.</summary>
    public Task CheckpointAsync(string id, CheckpointOptions options, CancellationToken ct = default) =>
        _runtime.CheckpointAsync(id, options with
        {
            ImagePath = Path.GetFullPath(options.ImagePath),
            WorkPath = options.WorkPath is { } work ? Path.GetFullPath(work) : null,
        }, ct);

    public async Task<ExitResult> DeleteTaskAsync(string id, CancellationToken ct = default)
    {
        var exited = await _runtime.DeleteAsync(id, ct);
        await _processes.DeletedAsync(new ProcessKey(Namespace, id, null), wholeContainer: true);
        return new ExitResult(exited.Pid, exited.ExitStatus, exited.ExitedAt);
    }

    // ---- any process ----

    public async Task<StartedProcess> ExecAsync(string id, string execId, ExecOptions options, CancellationToken ct = default)
    {
        Identifiers.Validate(execId, "exec id");
        using var start = _processes.BeginStart(new ProcessKey(Namespace, id, execId));
        var owner = IoOwner.Of(System.Text.Json.Nodes.JsonNode.Parse(options.ProcessSpecJson));
        var io = options.Attach is null ? null
            : ProcessIo.Create(_processes.ContainerDirectory(Namespace, id), execId, options.WithStdin, options.Terminal,
                ((int)owner.Uid, (int)owner.Gid));
        return await CreateThenStartAsync(id, execId, start, io, options.Attach,
            () => _runtime.ExecAsync(id, execId, options.ProcessSpecJson, io?.Paths ?? Stdio.Null, ct),
            () => _runtime.StartExecAsync(id, execId, ct),
            () => IgnoreGoneAsync(() => _runtime.DeleteExecAsync(id, execId, CancellationToken.None)), ct);
    }

    /// <summary>
    /// The one create-then-start of a task or exec: its stdio handed to the caller first; a failed start undoes the create
    /// (nothing left behind, the error stays the shim's), and any failure removes the stdio; a start registers it.
    /// </summary>
    private static async Task<StartedProcess> CreateThenStartAsync(string id, string? execId, AttachedProcesses.StartInProgress start,
        ProcessIo? io, StdioAttach? attach, Func<Task> create, Func<Task<uint>> run, Func<Task> undoCreate, CancellationToken ct)
    {
        try
        {
            if (io is not null) await attach!(io, ct);
            await create();
            uint pid;
            try
            {
                pid = await run();
            }
            catch
            {
                await undoCreate();
                throw;
            }
            await start.SucceededAsync(io);
            return new StartedProcess(id, execId, pid, io);
        }
        catch
        {
            if (io is not null) await io.DisposeAsync();
            throw;
        }
    }

    public Task SignalAsync(string id, string? execId, int signal, bool all = false, CancellationToken ct = default) =>
        execId is null
            ? _runtime.KillAsync(id, (uint)signal, all, ct)
            : _runtime.KillExecAsync(id, execId, (uint)signal, ct);

    public Task ResizeAsync(string id, string? execId, uint width, uint height, CancellationToken ct = default) =>
        execId is null
            ? _runtime.ResizePtyAsync(id, width, height, ct)
            : _runtime.ResizeExecPtyAsync(id, execId, width, height, ct);

    public Task CloseStdinAsync(string id, string? execId, CancellationToken ct = default) =>
        _processes.CloseStdinAsync(new ProcessKey(Namespace, id, execId), ct);

    public async Task<ExitResult> WaitAsync(string id, string? execId, CancellationToken ct = default)
    {
        var exited = execId is null ? await _runtime.WaitAsync(id, ct) : await _runtime.WaitExecAsync(id, execId, ct);
        return new ExitResult(exited.Pid, exited.ExitStatus, exited.ExitedAt);
    }

    public async Task<ExitResult> DeleteProcessAsync(string id, string execId, CancellationToken ct = default)
    {
        var exited = await _runtime.DeleteExecAsync(id, execId, ct);
        await _processes.DeletedAsync(new ProcessKey(Namespace, id, execId), wholeContainer: false);
        return new ExitResult(exited.Pid, exited.ExitStatus, exited.ExitedAt);
    }

    // ---- events ----

    public async Task<IAsyncDisposable> SubscribeAsync(IContainerEventBackend backend, long? afterOffset = null,
        CancellationToken ct = default)
    {
        var ns = Namespace;
        Func<TaskEvent, Task> callback = e => EventMapping.ToContainerEvent(e, ns) is { } mapped
            ? backend.ProcessEventAsync(mapped, CancellationToken.None)
            : Task.CompletedTask;
        object subscribe = afterOffset is { } after
            ? new EventBusProtocol.SubscribeBackendFrom(after, [], callback)
            : new EventBusProtocol.SubscribeBackend([], callback);
        var subscribed = await _runtime.EventBus.Ask<EventBusProtocol.Subscribed>(subscribe, _runtime.Settings.CallTimeout, ct);
        return new Subscription(_runtime.EventBus, subscribed.SubscriptionId, _runtime.Settings.CallTimeout);
    }

    /// <summary>The runtime belongs to whoever started it; the client only lets go of the stdio it still holds.</summary>
    public ValueTask DisposeAsync() => _processes.DisposeAsync();


    private async Task<bool> TaskExistsAsync(string id, CancellationToken ct)
    {
        try
        {
            await _runtime.StateAsync(id, ct);
            return true;
        }
        catch (TtrpcException e) when (e.Code == TtrpcCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>Cleanup steps after a failure: a process already gone is what we wanted.</summary>
    private static async Task IgnoreGoneAsync(Func<Task> step)
    {
        try
        {
            await step();
        }
        catch (TtrpcException e) when (e.Code is TtrpcCode.NotFound or TtrpcCode.FailedPrecondition)
        {
        }
    }

    /// <summary>ctr's --log-uri file://: the shim writes stdout and stderr to the file itself.</summary>
    private static Stdio LogStdio(string? logPath, bool terminal) =>
        logPath is null ? Stdio.Null : new Stdio("", "file://" + logPath, "file://" + logPath, terminal);

    private static ContainerInfo ToInfo(ContainerRecord r) =>
        new(r.Id, r.SpecJson, r.RuntimeName,
            r.RuntimeOptions is { Length: > 0 } o && Any.Parser.ParseFrom(o) is var any ? new RuntimeOptions(any.TypeUrl, any.Value.ToByteArray()) : null,
            r.Labels, r.CreatedAt, r.UpdatedAt);

    private sealed class Subscription(IActorRef bus, string id, TimeSpan timeout) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() =>
            await bus.Ask<EventBusProtocol.Unsubscribed>(new EventBusProtocol.Unsubscribe(id), timeout);
    }
}
