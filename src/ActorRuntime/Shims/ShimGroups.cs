namespace ActorRuntime.Shims;

/// <summary>
/// Which containers share one shim process (grouped with the io.containerd.runc.v2.group annotation: `start`
/// returns the running shim's address). The shim writes its log to the FIFO of the bundle that launched it, so log
/// readers stay open until the last member leaves; only the last member sends Shutdown.
/// </summary>
public sealed class ShimGroups
{
    private readonly Dictionary<string, (int Members, List<IDisposable> Logs)> _groups = new(StringComparer.Ordinal);
    private readonly object _lock = new();

    public void Join(string address)
    {
        lock (_lock)
        {
            var group = _groups.GetValueOrDefault(address, (0, []));
            _groups[address] = (group.Members + 1, group.Logs);
        }
    }

    /// <summary>
    /// Leaves the group, handing over this member's log reader. Returns true when others still use the shim (so it
    /// must not be shut down); the readers are disposed when the last member leaves.
    /// </summary>
    public bool Leave(string address, IDisposable? log)
    {
        List<IDisposable> toDispose;
        lock (_lock)
        {
            if (!_groups.TryGetValue(address, out var group))
            {
                log?.Dispose();
                return false;
            }
            if (log is not null) group.Logs.Add(log);
            if (group.Members > 1)
            {
                _groups[address] = (group.Members - 1, group.Logs);
                return true;
            }
            _groups.Remove(address);
            toDispose = group.Logs;
        }
        foreach (var d in toDispose) d.Dispose();
        return false;
    }

    public int MembersOf(string address)
    {
        lock (_lock) return _groups.TryGetValue(address, out var g) ? g.Members : 0;
    }
}
