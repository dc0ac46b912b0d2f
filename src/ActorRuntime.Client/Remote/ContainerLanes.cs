namespace ActorRuntime.Client.Remote;

/// <summary>
/// A remote subscription's dispatch: events arrive on one stream in order; each container's run one at a time in that
/// order, different containers' in parallel (what the bus's backend lanes do in-process, for a client without an actor
/// system). At most <paramref name="maxInFlight"/> events are held, so a slow backend slows the stream instead of
/// growing memory. A failing handler does not stop its container's lane (as on the bus).
/// </summary>
internal sealed class ContainerLanes(Func<ContainerEvent, Task> handle, int maxInFlight)
{
    private readonly Dictionary<string, Task> _tails = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _room = new(maxInFlight, maxInFlight);

    /// <summary>Queues <paramref name="e"/> behind its container's earlier events; waits while the lanes are full.</summary>
    public async Task PostAsync(ContainerEvent e, CancellationToken ct)
    {
        await _room.WaitAsync(ct);
        var key = $"{e.Namespace}/{e.ContainerId}";
        lock (_tails)
        {
            var previous = _tails.GetValueOrDefault(key) ?? Task.CompletedTask;
            var next = Run(previous, e);
            _tails[key] = next;
            // Lanes that finished are dropped, so the table stays as small as the containers with work in hand.
            foreach (var done in _tails.Where(t => t.Value.IsCompleted && t.Key != key).Select(t => t.Key).ToList()) _tails.Remove(done);
        }
    }

    /// <summary>Returns once every event posted so far was handled.</summary>
    public Task DrainAsync()
    {
        lock (_tails) return Task.WhenAll(_tails.Values);
    }

    private async Task Run(Task previous, ContainerEvent e)
    {
        await previous;
        try
        {
            await handle(e);
        }
        catch
        {
            // The backend's failure is its own (at-least-once is the stream's promise, not a retry of a handler).
        }
        finally
        {
            _room.Release();
        }
    }
}
