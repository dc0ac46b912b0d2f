using ActorRuntime.Protocol.Ttrpc;

namespace ActorRuntime.Client;

/// <summary>A process as a client names it: the init when <see cref="ExecId"/> is null.</summary>
internal readonly record struct ProcessKey(string Namespace, string ContainerId, string? ExecId)
{
    public bool InContainer(ProcessKey other) => Namespace == other.Namespace && ContainerId == other.ContainerId;

    public override string ToString() => ExecId is null ? $"{Namespace}/{ContainerId}" : $"{Namespace}/{ContainerId}/{ExecId}";
}

/// <summary>
/// The processes one client started or reattached to, with their stdio, shared by the client's namespace views; one
/// for every way of reaching a runtime, so FIFOs are kept and removed the same way in-process and over a socket.
/// <para>Also moby's stdin-close synchronisation: a close asked for while this client is starting the process waits for
/// the start; one asked for before the runtime knows the process (NotFound) is remembered and applied right after its
/// start; and the caller's dispose of <see cref="ProcessIo.Stdin"/> becomes the runtime's CloseIO once it is started.</para>
/// <para>FIFOs live in <c>&lt;state&gt;/&lt;namespace&gt;/&lt;container&gt;/&lt;random&gt;/</c>: a process's directory goes
/// when the process is deleted (or fails to start), the container's when the container is deleted. When the client goes
/// away the FIFOs of live processes stay, for <see cref="ProcessIo.Reopen"/> after a restart.</para>
/// </summary>
internal sealed class AttachedProcesses(string stateDirectory, Func<ProcessKey, CancellationToken, Task> closeStdin) : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<ProcessKey, ProcessIo?> _started = [];
    private readonly Dictionary<ProcessKey, Task> _stdinForwards = [];
    private readonly Dictionary<ProcessKey, TaskCompletionSource> _starting = [];
    private readonly HashSet<ProcessKey> _stdinClosedEarly = [];

    public string StateDirectory => stateDirectory;

    public string ContainerDirectory(string @namespace, string containerId) => Path.Combine(stateDirectory, @namespace, containerId);

    /// <summary>
    /// This client begins to create and start <paramref name="key"/>; dispose the result when that is over (done or
    /// failed). Two starts of one process at once through one client: the second is AlreadyExists.
    /// </summary>
    public StartInProgress BeginStart(ProcessKey key)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (!_starting.TryAdd(key, started))
                throw new AlreadyExistsException($"process {key} is being started already: already exists");
        }
        return new StartInProgress(this, key, started);
    }

    /// <summary>
    /// Stdin's close for <paramref name="key"/>, now, after its start in progress, or right after its start. Where this
    /// client holds the process's stdin stream, that is closed too: the process reads its end of input only once every
    /// writer of the FIFO has closed, the shim's (CloseIO) and ours.
    /// </summary>
    public async Task CloseStdinAsync(ProcessKey key, CancellationToken ct)
    {
        Task? starting;
        lock (_gate) starting = _starting.TryGetValue(key, out var s) ? s.Task : null;
        if (starting is not null)
        {
            try
            {
                await starting.WaitAsync(ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return; // the start failed: nothing is left to close
            }
        }
        if (HeldStdin(key) is { } held)
        {
            await held.DisposeAsync();
            await ForwardOf(key).WaitAsync(ct);
            return;
        }
        try
        {
            await closeStdin(key, ct);
        }
        catch (TtrpcException e) when (e.Code == TtrpcCode.NotFound)
        {
            lock (_gate)
            {
                // Not registered yet: applied right after its start.
                if (!_started.ContainsKey(key))
                {
                    _stdinClosedEarly.Add(key);
                    return;
                }
            }
            await closeStdin(key, ct); // started meanwhile
        }
    }

    /// <summary>Forgets the processes of a deleted task (the whole container) or exec, and removes their FIFOs.</summary>
    public async Task DeletedAsync(ProcessKey key, bool wholeContainer)
    {
        List<ProcessIo> gone;
        lock (_gate)
        {
            bool Matches(ProcessKey k) => wholeContainer ? k.InContainer(key) : k == key;
            var keys = _started.Keys.Where(Matches).ToList();
            gone = keys.Select(k => _started[k]).OfType<ProcessIo>().ToList();
            foreach (var k in keys)
            {
                _started.Remove(k);
                _stdinForwards.Remove(k);
            }
            _stdinClosedEarly.RemoveWhere(Matches);
        }
        foreach (var io in gone) await io.DisposeAsync();
    }

    /// <summary>The container is deleted: its FIFO directory goes, with whatever a process of another client left in it.</summary>
    public void ContainerDeleted(string @namespace, string containerId)
    {
        try
        {
            Directory.Delete(ContainerDirectory(@namespace, containerId), recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>The client goes away: its ends of the FIFOs close; the FIFOs stay for a later reattach.</summary>
    public async ValueTask DisposeAsync()
    {
        List<ProcessIo> held;
        lock (_gate)
        {
            held = _started.Values.OfType<ProcessIo>().ToList();
            _started.Clear();
            _stdinClosedEarly.Clear();
            _stdinForwards.Clear();
        }
        foreach (var io in held) await io.DetachAsync();
    }

    private async Task StartedAsync(ProcessKey key, ProcessIo? io)
    {
        ProcessIo? previous;
        bool closeNow;
        lock (_gate)
        {
            previous = _started.TryGetValue(key, out var p) ? p : null;
            _started[key] = io;
            closeNow = _stdinClosedEarly.Remove(key);
        }
        io?.Started();
        // A reattach replaces this client's earlier ends of the same FIFOs; the FIFOs themselves stay.
        if (previous is not null && !ReferenceEquals(previous, io)) await previous.DetachAsync();
        if (io?.Stdin is { } stdin)
        {
            // Only a close by the caller reaches the process: a detach (the client going away, a reattach replacing
            // these streams) or a delete unregisters the streams first, and the process keeps its stdin.
            var forward = io.StdinClosed.ContinueWith(_ => StillRegistered(key, io) ? CloseIgnoringGoneAsync(key) : Task.CompletedTask,
                CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default).Unwrap();
            lock (_gate) _stdinForwards[key] = forward;
            if (closeNow)
            {
                await stdin.DisposeAsync();
                await forward;
            }
        }
        else if (closeNow)
        {
            await CloseIgnoringGoneAsync(key);
        }
    }

    private bool StillRegistered(ProcessKey key, ProcessIo io)
    {
        lock (_gate) return _started.TryGetValue(key, out var current) && ReferenceEquals(current, io);
    }

    /// <summary>This client's stdin stream of a started process, if it holds one.</summary>
    private Stream? HeldStdin(ProcessKey key)
    {
        lock (_gate) return _started.TryGetValue(key, out var io) ? io?.Stdin : null;
    }

    /// <summary>The CloseIO that follows this client's close of the process's stdin stream.</summary>
    private Task ForwardOf(ProcessKey key)
    {
        lock (_gate) return _stdinForwards.TryGetValue(key, out var forward) ? forward : Task.CompletedTask;
    }

    private async Task CloseIgnoringGoneAsync(ProcessKey key)
    {
        try
        {
            await closeStdin(key, CancellationToken.None);
        }
        catch (TtrpcException e) when (e.Code is TtrpcCode.NotFound or TtrpcCode.FailedPrecondition)
        {
            // The process is already gone: nothing reads its stdin any more.
        }
    }

    /// <summary>A start under way; <see cref="SucceededAsync"/> once the runtime runs it, dispose in any case.</summary>
    public sealed class StartInProgress(AttachedProcesses owner, ProcessKey key, TaskCompletionSource started) : IDisposable
    {
        /// <summary>The process runs: its stdio is kept, and a close of stdin asked for meanwhile is applied.</summary>
        public async Task SucceededAsync(ProcessIo? io)
        {
            await owner.StartedAsync(key, io);
            started.TrySetResult();
        }

        public void Dispose()
        {
            started.TrySetException(new InvalidOperationException($"process {key} did not start"));
            lock (owner._gate)
            {
                if (owner._starting.TryGetValue(key, out var current) && current == started) owner._starting.Remove(key);
            }
        }
    }
}
