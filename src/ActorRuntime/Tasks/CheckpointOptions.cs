namespace ActorRuntime.Tasks;

/// <summary>
/// A checkpoint as runc's CRIU takes it (containerd.runc.v1.CheckpointOptions): the directory the image goes to, whether
/// the task stops afterwards, and what CRIU may capture (established TCP connections, external unix sockets, a terminal,
/// file locks) with its work directory.
/// </summary>
public sealed record CheckpointOptions(
    string ImagePath,
    bool Exit = false,
    bool OpenTcp = false,
    bool ExternalUnixSockets = false,
    bool Terminal = false,
    bool FileLocks = false,
    string? WorkPath = null);
