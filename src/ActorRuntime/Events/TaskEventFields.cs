using System.Globalization;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;

namespace ActorRuntime.Events;

/// <summary>
/// The filter adaptor for <see cref="TaskEvent"/>: resolves a field path to a string value and tells whether it is present,
/// the way containerd's envelope adaptor does (<c>namespace</c>, <c>topic</c>, then <c>event.*</c> from the event's own fields).
/// <list type="bullet">
/// <item><c>topic</c>, <c>namespace</c>: present when non-empty.</item>
/// <item><c>event.container_id</c>, <c>event.exec_id</c>: present when non-empty.</item>
/// <item><c>event.id</c>: the process id as containerd's TaskExit carries it: the exec id, or the container id for the init process.</item>
/// <item><c>event.pid</c>: decimal, present when non-zero (containerd's adaptors do not expose numbers; this is our extension).</item>
/// <item><c>event.exit_status</c>: decimal, present on <c>/tasks/exit</c> and <c>/tasks/delete</c> (where 0 is meaningful).</item>
/// <item><c>event.exited_at</c>: ISO 8601 UTC ("o" format), present when set.</item>
/// </list>
/// Everything else is absent.
/// </summary>
public static class TaskEventFields
{
    public static bool TryGet(TaskEvent e, IReadOnlyList<string> path, out string value)
    {
        value = "";
        if (path.Count == 1)
        {
            value = path[0] switch
            {
                "topic" => e.Topic,
                "namespace" => e.Namespace,
                _ => "",
            };
            return value.Length > 0;
        }
        if (path.Count != 2 || path[0] != "event")
            return false;

        switch (path[1])
        {
            case "container_id":
                value = e.ContainerId;
                return value.Length > 0;
            case "exec_id":
                value = e.ExecId;
                return value.Length > 0;
            case "id":
                value = e.IsInit ? e.ContainerId : e.ExecId;
                return value.Length > 0;
            case "pid":
                if (e.Pid == 0) return false;
                value = e.Pid.ToString(CultureInfo.InvariantCulture);
                return true;
            case "exit_status":
                if (e.Topic is not (Topics.Exit or Topics.Delete)) return false;
                value = e.ExitStatus.ToString(CultureInfo.InvariantCulture);
                return true;
            case "exited_at":
                if (e.ExitedAt is not { } at) return false;
                value = at.UtcDateTime.ToString("o", CultureInfo.InvariantCulture);
                return true;
            default:
                return false;
        }
    }
}
