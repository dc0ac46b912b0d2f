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
    /// Leaves the group, handing over this member's log reader. <see cref="Departure.OthersRemain"/>: others still use
    /// the shim (so it must not be shut down). When the last member leaves, the departure carries every reader of the
    /// group, for the caller to dispose once it is done with the shim: the shim logs while it shuts down, and a Go
    /// program whose stderr has no reader left dies of SIGPIPE.
    /// </summary>
    public Departure Leave(string address, IDisposable? log)
    {
        lock (_lock)
        {
            if (!_groups.TryGetValue(address, out var group))
                return new Departure(false, log is null ? [] : [log]);
            if (log is not null) group.Logs.Add(log);
            if (group.Members > 1)
            {
                _groups[address] = (group.Members - 1, group.Logs);
                return new Departure(true, []);
            }
            _groups.Remove(address);
            return new Departure(false, group.Logs);
        }
    }

    /// <summary>What leaving a group left to the member: whether the shim lives on, and the log readers to close.</summary>
    public sealed record Departure(bool OthersRemain, IReadOnlyList<IDisposable> Logs) : IDisposable
    {
        public void Dispose()
        {
            foreach (var log in Logs) log.Dispose();
        }
    }

    public int MembersOf(string address)
    {
        lock (_lock) return _groups.TryGetValue(address, out var g) ? g.Members : 0;
    }
}
