using ActorRuntime.Protocol.Ttrpc;

namespace ActorRuntime.Client.Embedded;

internal readonly record struct ProcessKey(string Namespace, string ContainerId, string? ExecId);

/// <summary>
/// The processes a client started (or reattached to) and their stdio, shared by its namespaces. Also the stdin-close
/// synchronisation of moby's libcontainerd: a close asked for before the process is registered is remembered and
/// applied right after its start, and a caller's dispose of <see cref="ProcessIo.Stdin"/> becomes CloseIO.
/// </summary>
internal sealed class Processes(string stateDirectory) : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<ProcessKey, ProcessIo?> _started = [];
    private readonly HashSet<ProcessKey> _stdinClosedEarly = [];

    public string StateDirectory => stateDirectory;

    public string ContainerDirectory(string @namespace, string containerId) => Path.Combine(stateDirectory, @namespace, containerId);

    public async Task StartedAsync(EmbeddedContainerClient client, ProcessKey key, ProcessIo? io)
    {
        bool closeNow;
        lock (_gate)
        {
            _started[key] = io;
            closeNow = _stdinClosedEarly.Remove(key);
        }
        if (closeNow) await CloseIgnoringGoneAsync(client, key);
        if (io?.Stdin is not null)
            _ = io.StdinClosed.ContinueWith(_ => CloseIgnoringGoneAsync(client, key), TaskScheduler.Default).Unwrap();
    }

    public async Task CloseStdinAsync(EmbeddedContainerClient client, ProcessKey key, CancellationToken ct)
    {
        bool known;
        lock (_gate) known = _started.ContainsKey(key);
        if (!known)
        {
            try
            {
                await client.CloseStdinNowAsync(key, ct); // started by another client, or created and not yet started
                return;
            }
            catch (TtrpcException e) when (e.Code == TtrpcCode.NotFound)
            {
                lock (_gate)
                {
                    // Not registered yet: remembered, and applied by StartedAsync (unless it started meanwhile).
                    if (!_started.ContainsKey(key) && _stdinClosedEarly.Add(key)) return;
                }
            }
        }
        await client.CloseStdinNowAsync(key, ct);
    }

    /// <summary>The process (or, with <paramref name="wholeContainer"/>, every process of its container) is gone: its FIFOs too.</summary>
    public async Task DeletedAsync(ProcessKey key, bool wholeContainer)
    {
        List<ProcessIo> gone;
        lock (_gate)
        {
            var keys = _started.Keys
                .Where(k => wholeContainer ? k.Namespace == key.Namespace && k.ContainerId == key.ContainerId : k == key)
                .ToList();
            gone = keys.Select(k => _started[k]).OfType<ProcessIo>().ToList();
            foreach (var k in keys) _started.Remove(k);
            _stdinClosedEarly.RemoveWhere(k => wholeContainer ? k.Namespace == key.Namespace && k.ContainerId == key.ContainerId : k == key);
        }
        foreach (var io in gone) await io.DisposeAsync();
    }

    public void RemoveContainerDirectory(string @namespace, string containerId)
    {
        try
        {
            Directory.Delete(ContainerDirectory(@namespace, containerId), recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>The client goes away: its ends of the FIFOs close, the FIFOs stay for a later ReattachAsync.</summary>
    public async ValueTask DisposeAsync()
    {
        List<ProcessIo> held;
        lock (_gate)
        {
            held = _started.Values.OfType<ProcessIo>().ToList();
            _started.Clear();
        }
        foreach (var io in held) await io.DetachAsync();
    }

    private static async Task CloseIgnoringGoneAsync(EmbeddedContainerClient client, ProcessKey key)
    {
        try
        {
            await client.CloseStdinNowAsync(key, CancellationToken.None);
        }
        catch (TtrpcException e) when (e.Code is TtrpcCode.NotFound or TtrpcCode.FailedPrecondition)
        {
            // The process is already gone: nothing reads its stdin any more.
        }
    }
}
