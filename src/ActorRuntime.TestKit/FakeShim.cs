using System.Collections.Concurrent;
using System.Net.Sockets;
using ActorRuntime.Events;
using ActorRuntime.Protocol.Events;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Tasks;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ActorRuntime.TestKit;

/// <summary>
/// An in-process shim serving the Task API over real ttrpc on a real unix socket, with the runc shim's semantics
/// where tests depend on them (processes run until killed; Delete only when stopped; Shutdown ignored while a
/// container is registered) and switches for faults: per-method delay/failure/hang, events forwarded twice,
/// connection drops (also in the middle of a call) and death. This file: the controls a test uses and the fault switch every call passes through;
/// the Task API itself is in FakeShim.TaskApi.cs, event forwarding in <see cref="FakeShimEvents"/>.
/// </summary>
public sealed partial class FakeShim : TaskServiceBase, IAsyncDisposable
{
    private static int _nextPid = 40_000;
    private readonly ConcurrentDictionary<(string Id, string ExecId), FakeProcess> _processes = new();
    private readonly ConcurrentDictionary<string, ShimFault> _faults = new();
    private readonly CancellationTokenSource _dead = new();
    private readonly FakeShimEvents _events;
    private readonly SemaphoreSlim _serverSwap = new(1, 1);
    private Socket? _staleSocket;
    private TtrpcServer _server;

    public FakeShim(string socketPath, string ns, string eventsAddress)
    {
        _events = new FakeShimEvents(ns, eventsAddress);
        SocketPath = socketPath;
        _server = Listen();
    }

    public string SocketPath { get; }

    public string Address => UnixSocket.Scheme + SocketPath;

    public uint ShimPid { get; } = (uint)Interlocked.Increment(ref _nextPid);

    /// <summary>Every forwarded event is sent twice (as a shim retrying after a lost reply would).</summary>
    public bool ForwardTwice
    {
        get => _events.ForwardTwice;
        set => _events.ForwardTwice = value;
    }

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

    /// <summary>
    /// The shim no longer knows the container (init and execs), yet keeps serving: as after its own Delete of the task
    /// when the runtime crashed before its teardown, or as a shim that was started but never got the Create.
    /// </summary>
    public void ForgetTask(string containerId)
    {
        foreach (var key in _processes.Keys.Where(k => k.Id == containerId)) _processes.TryRemove(key, out _);
    }

    /// <summary>Closes every connection but keeps listening (a dropped connection, not a dead shim).</summary>
    public async Task DropConnectionsAsync()
    {
        await _serverSwap.WaitAsync().ConfigureAwait(false);
        try
        {
            await _server.DisposeAsync().ConfigureAwait(false);
            if (!IsDead) _server = Listen();
        }
        finally
        {
            _serverSwap.Release();
        }
    }

    /// <summary>The shim process dies: socket gone, connections closed, processes keep their state for delete.</summary>
    public async Task DieAsync()
    {
        if (_dead.IsCancellationRequested) return;
        _dead.Cancel();
        // The runtime's cleanup kills a shim whose connection dropped, possibly before the drop has listened again: that
        // waits, else the drop would listen on a dead shim (or a kill's stale socket find the old file still there).
        await _serverSwap.WaitAsync().ConfigureAwait(false);
        try
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _serverSwap.Release();
        }
        await _events.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// The shim process is SIGKILLed: as <see cref="DieAsync"/>, but its socket file stays behind, refusing connections,
    /// until someone removes it.
    /// </summary>
    public Task KillAsync()
    {
        // One kill, awaited by every caller: a cleanup that runs the shim's delete while the test's kill is still under
        // way must not see the socket file before it stays behind (as with a real SIGKILL, which is instantaneous).
        lock (_killLock) return _kill ??= KillOnceAsync();
    }

    private readonly object _killLock = new();
    private Task? _kill;

    private async Task KillOnceAsync()
    {
        if (IsDead) return;
        await DieAsync().ConfigureAwait(false);
        // Bound and never listening: the file exists and every connect is refused. Held open, because .NET removes the
        // file of a bound socket when it is disposed, which a killed process never does.
        _staleSocket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _staleSocket.Bind(new UnixDomainSocketEndPoint(SocketPath));
    }

    /// <summary>What the shim binary's `delete` would report: pid of init, 137 (it kills what is left), now.</summary>
    public ShimDeleteResult CleanupResponse(string containerId) => new(PidOf(containerId) ?? 0, 137, DateTimeOffset.UtcNow);

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
            case ShimFault.Drop d:
                context.DropConnectionInsteadOfReplying();
                if (!d.AfterEffect) throw new TtrpcClosedException("connection dropped before the call took effect");
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

    private Task PublishExitAsync(FakeProcess p)
    {
        var (status, at) = p.Exit.Result;
        return ForwardAsync(Topics.Exit, new TaskExit
        {
            ContainerId = p.ContainerId, Id = p.ExecId.Length == 0 ? p.ContainerId : p.ExecId, Pid = p.Pid,
            ExitStatus = status, ExitedAt = Timestamp.FromDateTimeOffset(at),
        });
    }

    private Task ForwardAsync(string topic, IMessage message) => IsDead ? Task.CompletedTask : _events.ForwardAsync(topic, message);

    public async ValueTask DisposeAsync()
    {
        await DieAsync().ConfigureAwait(false);
        _staleSocket?.Dispose();
    }
}
