using ActorRuntime.Protocol.Ttrpc;
using Google.Protobuf.WellKnownTypes;

namespace ActorRuntime.Protocol.Shim;

/// <summary>
/// Server side of the Task API for our own shims (the fault-injection fake shim). Every method not overridden
/// answers Unimplemented, as a Go server without that handler would.
/// </summary>
public abstract class TaskServiceBase
{
    private static Task<T> NotImplemented<T>(string method) =>
        Task.FromException<T>(new UnimplementedException($"method {method}"));

    public virtual Task<StateResponse> State(StateRequest r, TtrpcCallContext c) => NotImplemented<StateResponse>(TaskApi.Methods.State);
    public virtual Task<CreateTaskResponse> Create(CreateTaskRequest r, TtrpcCallContext c) => NotImplemented<CreateTaskResponse>(TaskApi.Methods.Create);
    public virtual Task<StartResponse> Start(StartRequest r, TtrpcCallContext c) => NotImplemented<StartResponse>(TaskApi.Methods.Start);
    public virtual Task<DeleteResponse> Delete(DeleteRequest r, TtrpcCallContext c) => NotImplemented<DeleteResponse>(TaskApi.Methods.Delete);
    public virtual Task<PidsResponse> Pids(PidsRequest r, TtrpcCallContext c) => NotImplemented<PidsResponse>(TaskApi.Methods.Pids);
    public virtual Task<Empty> Pause(PauseRequest r, TtrpcCallContext c) => NotImplemented<Empty>(TaskApi.Methods.Pause);
    public virtual Task<Empty> Resume(ResumeRequest r, TtrpcCallContext c) => NotImplemented<Empty>(TaskApi.Methods.Resume);
    public virtual Task<Empty> Checkpoint(CheckpointTaskRequest r, TtrpcCallContext c) => NotImplemented<Empty>(TaskApi.Methods.Checkpoint);
    public virtual Task<Empty> Kill(KillRequest r, TtrpcCallContext c) => NotImplemented<Empty>(TaskApi.Methods.Kill);
    public virtual Task<Empty> Exec(ExecProcessRequest r, TtrpcCallContext c) => NotImplemented<Empty>(TaskApi.Methods.Exec);
    public virtual Task<Empty> ResizePty(ResizePtyRequest r, TtrpcCallContext c) => NotImplemented<Empty>(TaskApi.Methods.ResizePty);
    public virtual Task<Empty> CloseIO(CloseIORequest r, TtrpcCallContext c) => NotImplemented<Empty>(TaskApi.Methods.CloseIO);
    public virtual Task<Empty> Update(UpdateTaskRequest r, TtrpcCallContext c) => NotImplemented<Empty>(TaskApi.Methods.Update);
    public virtual Task<WaitResponse> Wait(WaitRequest r, TtrpcCallContext c) => NotImplemented<WaitResponse>(TaskApi.Methods.Wait);
    public virtual Task<StatsResponse> Stats(StatsRequest r, TtrpcCallContext c) => NotImplemented<StatsResponse>(TaskApi.Methods.Stats);
    public virtual Task<ConnectResponse> Connect(ConnectRequest r, TtrpcCallContext c) => NotImplemented<ConnectResponse>(TaskApi.Methods.Connect);
    public virtual Task<Empty> Shutdown(ShutdownRequest r, TtrpcCallContext c) => NotImplemented<Empty>(TaskApi.Methods.Shutdown);

    /// <summary>Adds all 17 methods to <paramref name="registry"/>.</summary>
    public TtrpcServiceRegistry BindTo(TtrpcServiceRegistry registry)
    {
        const string s = TaskApi.Service;
        return registry
            .Register(s, TaskApi.Methods.State, StateRequest.Parser, State)
            .Register(s, TaskApi.Methods.Create, CreateTaskRequest.Parser, Create)
            .Register(s, TaskApi.Methods.Start, StartRequest.Parser, Start)
            .Register(s, TaskApi.Methods.Delete, DeleteRequest.Parser, Delete)
            .Register(s, TaskApi.Methods.Pids, PidsRequest.Parser, Pids)
            .Register(s, TaskApi.Methods.Pause, PauseRequest.Parser, Pause)
            .Register(s, TaskApi.Methods.Resume, ResumeRequest.Parser, Resume)
            .Register(s, TaskApi.Methods.Checkpoint, CheckpointTaskRequest.Parser, Checkpoint)
            .Register(s, TaskApi.Methods.Kill, KillRequest.Parser, Kill)
            .Register(s, TaskApi.Methods.Exec, ExecProcessRequest.Parser, Exec)
            .Register(s, TaskApi.Methods.ResizePty, ResizePtyRequest.Parser, ResizePty)
            .Register(s, TaskApi.Methods.CloseIO, CloseIORequest.Parser, CloseIO)
            .Register(s, TaskApi.Methods.Update, UpdateTaskRequest.Parser, Update)
            .Register(s, TaskApi.Methods.Wait, WaitRequest.Parser, Wait)
            .Register(s, TaskApi.Methods.Stats, StatsRequest.Parser, Stats)
            .Register(s, TaskApi.Methods.Connect, ConnectRequest.Parser, Connect)
            .Register(s, TaskApi.Methods.Shutdown, ShutdownRequest.Parser, Shutdown);
    }
}
