using ActorRuntime.Hosting;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Api.Tasks;
using ActorRuntime.Protocol.Runc;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Protocol.Types;
using ActorRuntime.Tasks;
using CheckpointOptions = ActorRuntime.Tasks.CheckpointOptions;
using RuncCheckpointOptions = ActorRuntime.Protocol.Runc.CheckpointOptions;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using ProcessStatusProto = ActorRuntime.Protocol.Types.Status;

namespace ActorRuntime.Daemon.Services;

/// <summary>
/// containerd.services.tasks.v1.Tasks over the runtime, in the call's namespace. An empty exec_id means the task's init
/// process, any other the exec of that id. Processes come back with the stdio paths and terminal flag they were created
/// with, since clients re-attach IO from them. In cluster mode a call by container id acts on the node that runs it and
/// a list spans the nodes that are up (<see cref="RequestNamespace.OwnerOfAsync"/>).
/// </summary>
internal sealed class TasksService(ContainerRuntime runtime) : ActorRuntime.Protocol.Api.Tasks.Tasks.TasksBase
{
    /// <summary>Go's zero time, which containerd sends as exited_at for a process that has not exited.</summary>
    private static readonly Timestamp GoZeroTime = new() { Seconds = -62135596800 };

    /// <summary>The task runs the container's spec (read from the container store) on the rootfs mounts of the request.</summary>
    public override async Task<CreateTaskResponse> Create(CreateTaskRequest request, ServerCallContext context)
    {
        var view = await RequestNamespace.OwnerOfAsync(runtime, context, request.ContainerId);
        var container = await view.GetContainerAsync(request.ContainerId, context.CancellationToken);
        var rootfs = request.Rootfs.Select(m => new MountSpec(m.Type, m.Source, m.Options.ToList())).ToList();
        var stdio = new Stdio(request.Stdin, request.Stdout, request.Stderr, request.Terminal);
        // The request's options, else the container's (containerd's order); both are runc's Options in an Any.
        var options = request.Options is { } given ? given.ToByteArray() : container.RuntimeOptions;
        var pid = await view.CreateAsync(container.Id, container.SpecJson, rootfs, stdio, context.CancellationToken, options,
            RestorePath(request));
        return new() { ContainerId = container.Id, Pid = pid };
    }

    public override async Task<StartResponse> Start(StartRequest request, ServerCallContext context)
    {
        var view = await RequestNamespace.OwnerOfAsync(runtime, context, request.ContainerId);
        var pid = request.ExecId.Length == 0
            ? await view.StartAsync(request.ContainerId, context.CancellationToken)
            : await view.StartExecAsync(request.ContainerId, request.ExecId, context.CancellationToken);
        return new() { Pid = pid };
    }

    /// <summary>containerd leaves the id of a task's delete empty.</summary>
    public override async Task<DeleteResponse> Delete(DeleteTaskRequest request, ServerCallContext context) =>
        Deleted("", await (await RequestNamespace.OwnerOfAsync(runtime, context, request.ContainerId)).DeleteAsync(request.ContainerId, context.CancellationToken));

    public override async Task<DeleteResponse> DeleteProcess(DeleteProcessRequest request, ServerCallContext context)
    {
        if (request.ExecId.Length == 0)
            throw new InvalidArgumentException("exec id must be set (delete the task itself with Delete): invalid argument");
        var exited = await (await RequestNamespace.OwnerOfAsync(runtime, context, request.ContainerId)).DeleteExecAsync(request.ContainerId, request.ExecId, context.CancellationToken);
        return Deleted(request.ExecId, exited);
    }

    public override async Task<GetResponse> Get(GetRequest request, ServerCallContext context)
    {
        var view = await RequestNamespace.OwnerOfAsync(runtime, context, request.ContainerId);
        var state = request.ExecId.Length == 0
            ? await view.StateAsync(request.ContainerId, context.CancellationToken)
            : await view.ExecStateAsync(request.ContainerId, request.ExecId, context.CancellationToken);
        return new() { Process = ToProto(state) };
    }

    /// <summary>Every task of the namespace; one deleted while we read the list is left out.</summary>
    public override async Task<ListTasksResponse> List(ListTasksRequest request, ServerCallContext context)
    {
        Filters.None([request.Filter], "task");
        var response = new ListTasksResponse();
        foreach (var (node, view) in RequestNamespace.NodeViews(runtime, context))
        foreach (var id in await view.ListAsync(context.CancellationToken))
        {
            try
            {
                var task = ToProto(await view.StateAsync(id, context.CancellationToken));
                task.ActorruntimeNode = node ?? "";
                response.Tasks.Add(task);
            }
            catch (NotFoundException)
            {
                // Deleted since the list was taken.
            }
        }
        // In a cluster, the tasks of a node that cannot be asked now are there all the same, as unknown, with their node.
        if (RequestNamespace.View(runtime, context) is { Cluster: { } cluster } local)
            foreach (var (id, node) in await cluster.UnreachableContainersAsync(local.Namespace, context.CancellationToken))
                response.Tasks.Add(new Process { ContainerId = id, Id = id, Status = ProcessStatusProto.Unknown, ActorruntimeNode = node, ExitedAt = GoZeroTime });
        return response;
    }

    public override async Task<Empty> Kill(KillRequest request, ServerCallContext context)
    {
        var view = await RequestNamespace.OwnerOfAsync(runtime, context, request.ContainerId);
        if (request.ExecId.Length == 0)
            await view.KillAsync(request.ContainerId, request.Signal, request.All, context.CancellationToken);
        else
            await view.KillExecAsync(request.ContainerId, request.ExecId, request.Signal, context.CancellationToken);
        return new Empty();
    }

    public override async Task<Empty> Exec(ExecProcessRequest request, ServerCallContext context)
    {
        var view = await RequestNamespace.OwnerOfAsync(runtime, context, request.ContainerId);
        var spec = OciJson.Of(request.Spec, TypeUrls.OciProcess, "exec spec");
        var stdio = new Stdio(request.Stdin, request.Stdout, request.Stderr, request.Terminal);
        await view.ExecAsync(request.ContainerId, request.ExecId, spec, stdio, context.CancellationToken);
        return new Empty();
    }

    public override async Task<Empty> ResizePty(ResizePtyRequest request, ServerCallContext context)
    {
        var view = await RequestNamespace.OwnerOfAsync(runtime, context, request.ContainerId);
        if (request.ExecId.Length == 0)
            await view.ResizePtyAsync(request.ContainerId, request.Width, request.Height, context.CancellationToken);
        else
            await view.ResizeExecPtyAsync(request.ContainerId, request.ExecId, request.Width, request.Height, context.CancellationToken);
        return new Empty();
    }

    /// <summary>Only stdin can be closed (as with containerd's shim, stdin=false asks for nothing).</summary>
    public override async Task<Empty> CloseIO(CloseIORequest request, ServerCallContext context)
    {
        var view = await RequestNamespace.OwnerOfAsync(runtime, context, request.ContainerId);
        if (!request.Stdin) return new Empty();
        if (request.ExecId.Length == 0)
            await view.CloseIOAsync(request.ContainerId, context.CancellationToken);
        else
            await view.CloseExecIOAsync(request.ContainerId, request.ExecId, context.CancellationToken);
        return new Empty();
    }

    public override async Task<Empty> Pause(PauseTaskRequest request, ServerCallContext context)
    {
        await (await RequestNamespace.OwnerOfAsync(runtime, context, request.ContainerId)).PauseAsync(request.ContainerId, context.CancellationToken);
        return new Empty();
    }

    public override async Task<Empty> Resume(ResumeTaskRequest request, ServerCallContext context)
    {
        await (await RequestNamespace.OwnerOfAsync(runtime, context, request.ContainerId)).ResumeAsync(request.ContainerId, context.CancellationToken);
        return new Empty();
    }

    /// <summary>An exec's process carries its exec id as containerd.runc.v1.ProcessDetails, as the runc shim reports it.</summary>
    public override async Task<ListPidsResponse> ListPids(ListPidsRequest request, ServerCallContext context)
    {
        var pids = await (await RequestNamespace.OwnerOfAsync(runtime, context, request.ContainerId)).PidsAsync(request.ContainerId, context.CancellationToken);
        var response = new ListPidsResponse();
        response.Processes.AddRange(pids.Processes.Select(p => new ProcessInfo
        {
            Pid = p.Pid,
            Info = p.ExecId.Length > 0 ? TypeUrls.Pack(new ProcessDetails { ExecId = p.ExecId }) : null,
        }));
        return response;
    }

    /// <summary>
    /// With runc's image_path (containerd 1.6's WithCheckpointImagePath) the shim writes the image there and that is all,
    /// as in containerd. Without it the shim writes into a fresh directory, but there is no content store to turn it into
    /// an image, so a checkpoint that succeeds is still refused, naming where it is; one that fails returns the shim's error
    /// and leaves no directory of ours.
    /// </summary>
    public override async Task<CheckpointTaskResponse> Checkpoint(CheckpointTaskRequest request, ServerCallContext context)
    {
        var view = await RequestNamespace.OwnerOfAsync(runtime, context, request.ContainerId);
        var options = TypeUrls.TryUnpack(request.Options, RuncCheckpointOptions.Parser, out var given) ? given : new RuncCheckpointOptions();
        CheckpointOptions To(string imagePath) => new(imagePath, options.Exit, options.OpenTcp, options.ExternalUnixSockets,
            options.Terminal, options.FileLocks, options.WorkPath.Length > 0 ? Absolute(options.WorkPath, "checkpoint work path") : null);
        if (options.ImagePath.Length > 0)
        {
            await view.CheckpointAsync(request.ContainerId, To(Absolute(options.ImagePath, "checkpoint image path")), context.CancellationToken);
            return new CheckpointTaskResponse();
        }
        var directory = Directory.CreateTempSubdirectory("actorruntimed-checkpoint-").FullName;
        try
        {
            await view.CheckpointAsync(request.ContainerId, To(directory), context.CancellationToken);
        }
        catch
        {
            Directory.Delete(directory, recursive: true);
            throw;
        }
        throw new UnimplementedException(
            $"checkpoint of {request.ContainerId} written to {directory}, but there is no content store to make an image of it: not implemented");
    }

    public override async Task<Empty> Update(UpdateTaskRequest request, ServerCallContext context)
    {
        var view = await RequestNamespace.OwnerOfAsync(runtime, context, request.ContainerId);
        var resources = OciJson.Of(request.Resources, TypeUrls.OciLinuxResources, "resources");
        await view.UpdateAsync(request.ContainerId, resources, context.CancellationToken);
        return new Empty();
    }

    /// <summary>The shim's own statistics (its Any, undecoded) for each task the filters name, or every task without one.</summary>
    public override async Task<MetricsResponse> Metrics(MetricsRequest request, ServerCallContext context)
    {
        var ids = Filters.Ids(request.Filters, "task");
        var response = new MetricsResponse();
        foreach (var view in RequestNamespace.Views(runtime, context))
        foreach (var id in (await view.ListAsync(context.CancellationToken)).Where(id => ids is null || ids.Contains(id)))
        {
            try
            {
                var stats = await view.StatsAsync(id, context.CancellationToken);
                response.Metrics.Add(new Metric
                {
                    Timestamp = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
                    Id = id,
                    Data = new Any { TypeUrl = stats.TypeUrl, Value = ByteString.CopyFrom(stats.Raw) },
                });
            }
            catch (NotFoundException)
            {
                // Deleted since the list was taken.
            }
        }
        return response;
    }

    /// <summary>Valid from creation on (ctr sends it alongside Start); answers at once for a process that has exited.</summary>
    public override async Task<WaitResponse> Wait(WaitRequest request, ServerCallContext context)
    {
        var view = await RequestNamespace.OwnerOfAsync(runtime, context, request.ContainerId);
        var exited = request.ExecId.Length == 0
            ? await view.WaitAsync(request.ContainerId, context.CancellationToken)
            : await view.WaitExecAsync(request.ContainerId, request.ExecId, context.CancellationToken);
        return new() { ExitStatus = exited.ExitStatus, ExitedAt = Timestamp.FromDateTimeOffset(exited.ExitedAt) };
    }

    /// <summary>
    /// A task restored from a checkpoint: containerd 1.6 restores from the runc options' criu_image_path when one is given
    /// (getRestorePath) and otherwise from an image in its content store, which we do not keep.
    /// </summary>
    private static string? RestorePath(CreateTaskRequest request)
    {
        if (request.Checkpoint is null) return null;
        if (TypeUrls.TryUnpack(request.Options, Options.Parser, out var runc) && runc.CriuImagePath.Length > 0)
            return Absolute(runc.CriuImagePath, "checkpoint image path (criu_image_path)");
        throw new UnimplementedException(
            $"task {request.ContainerId}: restoring from a checkpoint in a content store is not supported (give runc's criu_image_path): not implemented");
    }

    private static string Absolute(string path, string what) => Path.IsPathRooted(path)
        ? path
        : throw new InvalidArgumentException($"{what} \"{path}\" must be absolute: invalid argument");

    private static DeleteResponse Deleted(string id, TaskProtocol.Exited exited) => new()
    {
        Id = id,
        Pid = exited.Pid,
        ExitStatus = exited.ExitStatus,
        ExitedAt = Timestamp.FromDateTimeOffset(exited.ExitedAt),
    };

    private static Process ToProto(TaskProtocol.ProcessState state) => new()
    {
        ContainerId = state.ContainerId,
        Id = state.ExecId.Length > 0 ? state.ExecId : state.ContainerId,
        Pid = state.Pid,
        Status = (ProcessStatusProto)(int)state.Status,
        Stdin = state.Stdio.Stdin,
        Stdout = state.Stdio.Stdout,
        Stderr = state.Stdio.Stderr,
        Terminal = state.Stdio.Terminal,
        ExitStatus = state.ExitStatus,
        ExitedAt = state.ExitedAt is { } at ? Timestamp.FromDateTimeOffset(at) : GoZeroTime,
    };
}
