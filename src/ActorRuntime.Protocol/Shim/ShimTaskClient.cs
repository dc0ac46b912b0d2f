using ActorRuntime.Protocol.Ttrpc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ActorRuntime.Protocol.Shim;

/// <summary>The shim Task API seen through a ttrpc connection: one typed method per RPC.</summary>
public sealed class ShimTaskClient(TtrpcClient client)
{
    public TtrpcClient Connection => client;

    private Task<TResponse> Call<TResponse>(string method, IMessage request, MessageParser<TResponse> parser,
        CallOptions? options, CancellationToken ct) where TResponse : IMessage<TResponse> =>
        client.CallAsync(TaskApi.Service, method, request, parser, options, ct);

    public Task<StateResponse> StateAsync(StateRequest r, CallOptions? o = null, CancellationToken ct = default) =>
        Call(TaskApi.Methods.State, r, StateResponse.Parser, o, ct);

    public Task<CreateTaskResponse> CreateAsync(CreateTaskRequest r, CallOptions? o = null, CancellationToken ct = default) =>
        Call(TaskApi.Methods.Create, r, CreateTaskResponse.Parser, o, ct);

    public Task<StartResponse> StartAsync(StartRequest r, CallOptions? o = null, CancellationToken ct = default) =>
        Call(TaskApi.Methods.Start, r, StartResponse.Parser, o, ct);

    public Task<DeleteResponse> DeleteAsync(DeleteRequest r, CallOptions? o = null, CancellationToken ct = default) =>
        Call(TaskApi.Methods.Delete, r, DeleteResponse.Parser, o, ct);

    public Task<PidsResponse> PidsAsync(PidsRequest r, CallOptions? o = null, CancellationToken ct = default) =>
        Call(TaskApi.Methods.Pids, r, PidsResponse.Parser, o, ct);

    public Task<Empty> PauseAsync(PauseRequest r, CallOptions? o = null, CancellationToken ct = default) =>
        Call(TaskApi.Methods.Pause, r, Empty.Parser, o, ct);

    public Task<Empty> ResumeAsync(ResumeRequest r, CallOptions? o = null, CancellationToken ct = default) =>
        Call(TaskApi.Methods.Resume, r, Empty.Parser, o, ct);

    public Task<Empty> CheckpointAsync(CheckpointTaskRequest r, CallOptions? o = null, CancellationToken ct = default) =>
        Call(TaskApi.Methods.Checkpoint, r, Empty.Parser, o, ct);

    public Task<Empty> KillAsync(KillRequest r, CallOptions? o = null, CancellationToken ct = default) =>
        Call(TaskApi.Methods.Kill, r, Empty.Parser, o, ct);

    public Task<Empty> ExecAsync(ExecProcessRequest r, CallOptions? o = null, CancellationToken ct = default) =>
        Call(TaskApi.Methods.Exec, r, Empty.Parser, o, ct);

    public Task<Empty> ResizePtyAsync(ResizePtyRequest r, CallOptions? o = null, CancellationToken ct = default) =>
        Call(TaskApi.Methods.ResizePty, r, Empty.Parser, o, ct);

    public Task<Empty> CloseIOAsync(CloseIORequest r, CallOptions? o = null, CancellationToken ct = default) =>
        Call(TaskApi.Methods.CloseIO, r, Empty.Parser, o, ct);

    public Task<Empty> UpdateAsync(UpdateTaskRequest r, CallOptions? o = null, CancellationToken ct = default) =>
        Call(TaskApi.Methods.Update, r, Empty.Parser, o, ct);

    /// <summary>The runc shim ignores timeouts on Wait; a local timeout only abandons the call.</summary>
    public Task<WaitResponse> WaitAsync(WaitRequest r, CallOptions? o = null, CancellationToken ct = default) =>
        Call(TaskApi.Methods.Wait, r, WaitResponse.Parser, o, ct);

    public Task<StatsResponse> StatsAsync(StatsRequest r, CallOptions? o = null, CancellationToken ct = default) =>
        Call(TaskApi.Methods.Stats, r, StatsResponse.Parser, o, ct);

    public Task<ConnectResponse> ConnectAsync(ConnectRequest r, CallOptions? o = null, CancellationToken ct = default) =>
        Call(TaskApi.Methods.Connect, r, ConnectResponse.Parser, o, ct);

    public Task<Empty> ShutdownAsync(ShutdownRequest r, CallOptions? o = null, CancellationToken ct = default) =>
        Call(TaskApi.Methods.Shutdown, r, Empty.Parser, o, ct);
}
