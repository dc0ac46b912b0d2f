using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;

namespace ActorRuntime.TestKit;

/// <summary>A process inside the fake shim: it runs until it is killed or the test makes it exit.</summary>
internal sealed class FakeProcess(string containerId, string execId, uint pid, string bundle, Stdio stdio)
{
    private readonly TaskCompletionSource<(uint Status, DateTimeOffset At)> _exit =
        new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string ContainerId => containerId;
    public string ExecId => execId;
    public uint Pid => pid;
    public string Bundle => bundle;
    public Stdio Stdio => stdio;
    public ProcessStatus Status { get; set; } = ProcessStatus.Created;
    public Task<(uint Status, DateTimeOffset At)> Exit => _exit.Task;
    public bool HasExited => _exit.Task.IsCompleted;

    /// <summary>Marks the exit once; false if it had already exited.</summary>
    public bool TryExit(uint status)
    {
        if (!_exit.TrySetResult((status, DateTimeOffset.UtcNow))) return false;
        Status = ProcessStatus.Stopped;
        return true;
    }
}
