using ActorRuntime.Client;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;

namespace ActorRuntime.Cli;

/// <summary>A line of `ps`: the container and its task (Status "created" when it has none).</summary>
internal sealed record PsRow(
    string Id,
    string Status,
    uint Pid,
    uint? ExitStatus,
    string Runtime,
    DateTimeOffset CreatedAt,
    IReadOnlyDictionary<string, string> Labels)
{
    public static PsRow Of(ContainerInfo container, TaskStatusInfo? task) => new(
        container.Id,
        task is null ? "created" : StatusName(task.Status),
        task?.Pid ?? 0,
        task is { Status: ProcessStatus.Stopped } ? task.ExitStatus : null,
        container.Runtime,
        container.CreatedAt,
        container.Labels);

    public static string StatusName(ProcessStatus status) => status.ToString().ToLowerInvariant();

    public static readonly Column<PsRow>[] Columns =
    [
        new("CONTAINER", r => r.Id),
        new("STATUS", r => r.ExitStatus is { } code ? $"{r.Status} ({code})" : r.Status),
        new("PID", r => r.Pid == 0 ? "-" : r.Pid.ToString()),
        new("CREATED", r => r.CreatedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss")),
        new("LABELS", r => string.Join(",", r.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"))),
    ];
}

/// <summary>A line of `top`: a process of the task, its exec id, and its command line as the host's /proc shows it.</summary>
internal sealed record TopRow(uint Pid, string? ExecId, string Command)
{
    public static TopRow Of(ProcessSummary process, Func<uint, string?> commandLine) =>
        new(process.Pid, process.ExecId, commandLine(process.Pid) ?? "");

    /// <summary>/proc/PID/cmdline with its NULs as spaces; null when the process is gone.</summary>
    public static string? ProcCommandLine(uint pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").TrimEnd('\0').Replace('\0', ' ');
        }
        catch (IOException)
        {
            return null;
        }
    }

    public static readonly Column<TopRow>[] Columns =
    [
        new("PID", r => r.Pid.ToString()),
        new("EXEC", r => r.ExecId ?? "-"),
        new("COMMAND", r => r.Command),
    ];
}

/// <summary>A line of `stats`: CPU share between two samples (100% = one CPU), memory, pids and I/O.</summary>
internal sealed record StatsRow(
    string Id,
    double CpuPercent,
    ulong MemoryUsageBytes,
    ulong MemoryLimitBytes,
    ulong Pids,
    ulong IoReadBytes,
    ulong IoWriteBytes)
{
    /// <summary>With no previous sample (the first line, or --no-stream) the CPU share is unknown: 0.</summary>
    public static StatsRow Of(ContainerStats current, ContainerStats? previous)
    {
        var cpu = 0.0;
        if (previous is not null && current.Read > previous.Read && current.CpuUsageNanos >= previous.CpuUsageNanos)
        {
            var wallNanos = (current.Read - previous.Read).Ticks * 100.0;
            cpu = Math.Round((current.CpuUsageNanos - previous.CpuUsageNanos) / wallNanos * 100.0, 2);
        }
        return new StatsRow(current.ContainerId, cpu, current.MemoryUsageBytes, current.MemoryLimitBytes,
            current.PidsCurrent, current.IoReadBytes, current.IoWriteBytes);
    }

    public static string Bytes(ulong bytes) => bytes switch
    {
        >= 1UL << 30 => $"{bytes / (double)(1UL << 30):0.##}GiB",
        >= 1UL << 20 => $"{bytes / (double)(1UL << 20):0.##}MiB",
        >= 1UL << 10 => $"{bytes / (double)(1UL << 10):0.##}KiB",
        _ => $"{bytes}B",
    };

    public static readonly Column<StatsRow>[] Columns =
    [
        new("CONTAINER", r => r.Id),
        new("CPU %", r => r.CpuPercent.ToString("0.00")),
        // A limit of the kernel's "max" (beyond any machine) shows as none.
        new("MEM USAGE / LIMIT", r => $"{Bytes(r.MemoryUsageBytes)} / {(r.MemoryLimitBytes is 0 or >= 1UL << 62 ? "-" : Bytes(r.MemoryLimitBytes))}"),
        new("PIDS", r => r.Pids.ToString()),
        new("BLOCK I/O", r => $"{Bytes(r.IoReadBytes)} / {Bytes(r.IoWriteBytes)}"),
    ];
}

/// <summary>
/// `events --filter`: KEY=VALUE terms, all of which must hold; keys container (id), exec (id) and type (create, start,
/// exit, oom, exec-added, exec-started, paused, resumed, delete). Repeating a key accepts any of its values.
/// </summary>
internal sealed record EventFilter(IReadOnlyDictionary<string, IReadOnlySet<string>> Terms)
{
    private static readonly string[] Keys = ["container", "exec", "type"];

    public static EventFilter Parse(IReadOnlyList<string>? filters)
    {
        var terms = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var filter in filters ?? [])
        {
            var eq = filter.IndexOf('=');
            var key = eq > 0 ? filter[..eq] : "";
            if (!Keys.Contains(key))
                throw new InvalidArgumentException($"--filter takes {string.Join("|", Keys)}=VALUE, got \"{filter}\"");
            var value = filter[(eq + 1)..];
            if (key == "type" && !Enum.GetValues<ContainerEventKind>().Any(k => TypeName(k) == value))
                throw new InvalidArgumentException(
                    $"--filter type= takes one of {string.Join(", ", Enum.GetValues<ContainerEventKind>().Select(TypeName))}, got \"{value}\"");
            if (!terms.TryGetValue(key, out var values)) terms[key] = values = new HashSet<string>(StringComparer.Ordinal);
            values.Add(value);
        }
        return new EventFilter(terms.ToDictionary(t => t.Key, t => (IReadOnlySet<string>)t.Value));
    }

    public bool Matches(ContainerEvent e) =>
        Holds("container", e.ContainerId) && Holds("exec", e.ExecId ?? "") && Holds("type", TypeName(e.Kind));

    private bool Holds(string key, string value) => !Terms.TryGetValue(key, out var values) || values.Contains(value);

    /// <summary>ExecAdded → exec-added, as the topics read (/tasks/exec-added).</summary>
    public static string TypeName(ContainerEventKind kind) => kind switch
    {
        ContainerEventKind.ExecAdded => "exec-added",
        ContainerEventKind.ExecStarted => "exec-started",
        _ => kind.ToString().ToLowerInvariant(),
    };

    public static string Line(ContainerEvent e) =>
        $"{e.Offset,8} {e.Timestamp.ToLocalTime():yyyy-MM-dd HH:mm:ss.fff} {e.Namespace} {TypeName(e.Kind),-12} {e.ContainerId}" +
        (e.ExecId is { } exec ? $" exec={exec}" : "") +
        (e.Pid != 0 ? $" pid={e.Pid}" : "") +
        (e.Kind == ContainerEventKind.Exit ? $" status={e.ExitStatus}" : "");
}

/// <summary>Signal names and numbers for `kill -s` (Linux x86-64/arm64 numbering).</summary>
internal static class Signals
{
    public const int SigInt = 2;
    public const int SigKill = 9;
    public const int SigTerm = 15;

    private static readonly Dictionary<string, int> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["HUP"] = 1, ["INT"] = 2, ["QUIT"] = 3, ["ILL"] = 4, ["TRAP"] = 5, ["ABRT"] = 6, ["BUS"] = 7, ["FPE"] = 8,
        ["KILL"] = 9, ["USR1"] = 10, ["SEGV"] = 11, ["USR2"] = 12, ["PIPE"] = 13, ["ALRM"] = 14, ["TERM"] = 15,
        ["CHLD"] = 17, ["CONT"] = 18, ["STOP"] = 19, ["TSTP"] = 20, ["TTIN"] = 21, ["TTOU"] = 22, ["WINCH"] = 28,
    };

    /// <summary>"TERM", "SIGTERM", "sigterm" or "15".</summary>
    public static int Parse(string signal)
    {
        if (int.TryParse(signal, out var number) && number is > 0 and < 65) return number;
        var name = signal.StartsWith("SIG", StringComparison.OrdinalIgnoreCase) ? signal[3..] : signal;
        return ByName.TryGetValue(name, out var parsed)
            ? parsed
            : throw new InvalidArgumentException($"unknown signal \"{signal}\" (a name such as TERM or KILL, or a number 1-64)");
    }
}
