using ActorRuntime.Tasks;

namespace ActorRuntime.Client;

/// <summary>
/// What a host needs from a container runtime, as moby's libcontainerd gives it to the Docker daemon: containers, their
/// task with stdio attached, execs, signals, stats, checkpoints and an ordered event feed. Every operation is by
/// container id (and exec id), so the same interface is served in-process, over actorruntimed's socket, over a real
/// containerd 1.6 socket, and (later) across a cluster. Errors are <see cref="Protocol.Ttrpc.TtrpcException"/>s carrying
/// containerd's codes (NotFound, AlreadyExists, FailedPrecondition, InvalidArgument, ...) and the runtime's own message.
/// </summary>
public interface IContainerClient : IAsyncDisposable
{
    /// <summary>The namespace every call acts in.</summary>
    string Namespace { get; }

    /// <summary>The same connection acting in another namespace (validated).</summary>
    IContainerClient InNamespace(string @namespace);

    Task<RuntimeVersion> VersionAsync(CancellationToken ct = default);

    /// <summary>The runtime's namespaces (not only this client's).</summary>
    Task<IReadOnlyList<string>> NamespacesAsync(CancellationToken ct = default);

    // ---- containers ----

    /// <summary>Records a container (no task yet). A duplicate id is AlreadyExists.</summary>
    Task<ContainerInfo> CreateAsync(NewContainer container, CancellationToken ct = default);

    /// <summary>The container as created (missing: NotFound).</summary>
    Task<ContainerInfo> LoadAsync(string id, CancellationToken ct = default);

    Task<IReadOnlyList<ContainerInfo>> ListAsync(CancellationToken ct = default);

    /// <summary>Removes the container record; its task must be gone (else FailedPrecondition).</summary>
    Task DeleteAsync(string id, CancellationToken ct = default);

    /// <summary>Kills (SIGKILL, all processes), waits, deletes the task if there is one, then deletes the container.</summary>
    Task<ExitResult?> ForceDeleteAsync(string id, CancellationToken ct = default);

    // ---- the task (init process) ----

    /// <summary>
    /// Creates and starts the container's task. Its stdio FIFOs are made under the client's state directory first and
    /// handed to <see cref="StartOptions.Attach"/> before the process starts, so no output is lost. A task that fails
    /// to start is killed and deleted, its FIFOs removed, and the error carries the shim's and runc's message.
    /// </summary>
    Task<StartedProcess> StartAsync(string id, StartOptions options, CancellationToken ct = default);

    /// <summary>After a runtime or host restart: the running task's stdio again (FIFOs reopened), its pid and status.</summary>
    Task<StartedProcess> ReattachAsync(string id, StdioAttach? attach, CancellationToken ct = default);

    Task<TaskStatusInfo> StatusAsync(string id, CancellationToken ct = default);

    Task PauseAsync(string id, CancellationToken ct = default);

    Task ResumeAsync(string id, CancellationToken ct = default);

    Task<ContainerStats> StatsAsync(string id, CancellationToken ct = default);

    /// <summary>The task's processes (pid, and the exec id where the runtime knows it).</summary>
    Task<IReadOnlyList<ProcessSummary>> SummaryAsync(string id, CancellationToken ct = default);

    /// <summary>Updates the task's resources (an OCI LinuxResources JSON object).</summary>
    Task UpdateResourcesAsync(string id, string linuxResourcesJson, CancellationToken ct = default);

    Task CheckpointAsync(string id, CheckpointOptions options, CancellationToken ct = default);

    /// <summary>Deletes the stopped task: its exit status and time; its FIFOs are removed.</summary>
    Task<ExitResult> DeleteTaskAsync(string id, CancellationToken ct = default);

    // ---- any process: execId null = the init process ----

    /// <summary>Adds and starts an exec. A duplicate exec id is AlreadyExists; a failed start deletes it again.</summary>
    Task<StartedProcess> ExecAsync(string id, string execId, ExecOptions options, CancellationToken ct = default);

    Task SignalAsync(string id, string? execId, int signal, bool all = false, CancellationToken ct = default);

    Task ResizeAsync(string id, string? execId, uint width, uint height, CancellationToken ct = default);

    /// <summary>Closes the process's stdin, also when called before the process is registered (it is applied on start).</summary>
    Task CloseStdinAsync(string id, string? execId, CancellationToken ct = default);

    /// <summary>Waits for the process to exit: its status and time.</summary>
    Task<ExitResult> WaitAsync(string id, string? execId, CancellationToken ct = default);

    /// <summary>Deletes a stopped exec: its exit status; its FIFOs are removed.</summary>
    Task<ExitResult> DeleteProcessAsync(string id, string execId, CancellationToken ct = default);

    // ---- events ----

    /// <summary>
    /// Delivers every task event of this namespace to <paramref name="backend"/>: in order per container, in parallel
    /// across containers, at least once, each with its offset. Events after <paramref name="afterOffset"/> only (null:
    /// from now on). Dispose the subscription to stop.
    /// </summary>
    Task<IAsyncDisposable> SubscribeAsync(IContainerEventBackend backend, long? afterOffset = null, CancellationToken ct = default);
}
