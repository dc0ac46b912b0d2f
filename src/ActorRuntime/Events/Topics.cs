using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
namespace ActorRuntime.Events;

/// <summary>Task event topics, as containerd names them.</summary>
public static class Topics
{
    public const string Create = "/tasks/create";
    public const string Start = "/tasks/start";
    public const string Exit = "/tasks/exit";
    public const string Delete = "/tasks/delete";
    public const string Oom = "/tasks/oom";
    public const string ExecAdded = "/tasks/exec-added";
    public const string ExecStarted = "/tasks/exec-started";
    public const string Paused = "/tasks/paused";
    public const string Resumed = "/tasks/resumed";
    public const string Checkpointed = "/tasks/checkpointed";

    public static readonly IReadOnlyList<string> All =
        [Create, Start, Exit, Delete, Oom, ExecAdded, ExecStarted, Paused, Resumed, Checkpointed];
}
