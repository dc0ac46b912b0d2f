using System.Text.Json;
using System.Text.Json.Nodes;

namespace ActorRuntime.Oci;

/// <summary>What varies between the containers we run; everything else in config.json is fixed by <see cref="OciSpec"/>.</summary>
/// <param name="Args">process.args; the first is looked up on the container's PATH.</param>
public sealed record OciContainerSpec(IReadOnlyList<string> Args)
{
    public IReadOnlyList<string> Env { get; init; } = OciSpec.DefaultEnv;
    public string Cwd { get; init; } = "/";
    public bool Terminal { get; init; }

    /// <summary>process.user: the uid and gid the process runs as (root by default).</summary>
    public uint Uid { get; init; }

    public uint Gid { get; init; }

    /// <summary>Defaults to the container id.</summary>
    public string? Hostname { get; init; }

    /// <summary>linux.resources.memory.limit in bytes; null for none.</summary>
    public long? MemoryLimitBytes { get; init; }

    /// <summary>linux.resources.pids.limit; null for none.</summary>
    public long? PidsLimit { get; init; }

    /// <summary>OCI annotations, e.g. io.containerd.runc.v2.group to share one shim between containers.</summary>
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }
}

/// <summary>
/// Minimal OCI runtime-spec (1.0.2) documents for busybox containers under runc (tests and demos), modelled on containerd's default spec:
/// root "rootfs" read-only, the usual pseudo-filesystems, pid/ipc/uts/mount/network namespaces, masked and read-only
/// /proc paths, and a cgroups path of /&lt;ns&gt;/&lt;id&gt; so that Stats has a cgroup to report.
/// </summary>
public static class OciSpec
{
    public const string Version = "1.0.2";

    public static readonly IReadOnlyList<string> DefaultEnv =
        ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"];

    /// <summary>containerd's default capability set.</summary>
    public static readonly IReadOnlyList<string> DefaultCapabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ];

    private static readonly string[] MaskedPaths =
    [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    ];

    private static readonly string[] ReadonlyPaths =
        ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>config.json for container <paramref name="id"/> in namespace <paramref name="ns"/>.</summary>
    public static string ConfigJson(string ns, string id, OciContainerSpec spec)
    {
        Identifiers.Validate(ns, "namespace");
        Identifiers.Validate(id, "id");
        ArgumentNullException.ThrowIfNull(spec);

        var resources = new JsonObject
        {
            // Deny device access except what runc always allows (null, zero, full, tty, urandom, random, ptmx, pts).
            ["devices"] = new JsonArray(new JsonObject { ["allow"] = false, ["access"] = "rwm" }),
        };
        if (spec.MemoryLimitBytes is { } memory)
            resources["memory"] = new JsonObject { ["limit"] = memory };
        if (spec.PidsLimit is { } pids)
            resources["pids"] = new JsonObject { ["limit"] = pids };

        var document = new JsonObject
        {
            ["ociVersion"] = Version,
            ["process"] = ProcessNode(spec.Args, spec.Terminal, spec.Env, spec.Cwd, spec.Uid, spec.Gid),
            ["root"] = new JsonObject { ["path"] = "rootfs", ["readonly"] = true },
            ["hostname"] = spec.Hostname ?? id,
            ["mounts"] = new JsonArray(
                Mount("/proc", "proc", "proc", "nosuid", "noexec", "nodev"),
                Mount("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
                Mount("/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"),
                Mount("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k"),
                Mount("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"),
                Mount("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro")),
            ["linux"] = new JsonObject
            {
                ["cgroupsPath"] = $"/{ns}/{id}",
                ["resources"] = resources,
                ["namespaces"] = new JsonArray(
                    new JsonObject { ["type"] = "pid" },
                    new JsonObject { ["type"] = "ipc" },
                    new JsonObject { ["type"] = "uts" },
                    new JsonObject { ["type"] = "mount" },
                    new JsonObject { ["type"] = "network" }),
                ["maskedPaths"] = Strings(MaskedPaths),
                ["readonlyPaths"] = Strings(ReadonlyPaths),
            },
        };
        if (spec.Annotations is { Count: > 0 } annotations)
        {
            var node = new JsonObject();
            foreach (var (key, value) in annotations) node[key] = value;
            document["annotations"] = node;
        }
        return document.ToJsonString(Indented);
    }

    /// <summary>The JSON of an OCI <c>Process</c>, as ExecProcessRequest.spec carries it.</summary>
    public static string ProcessJson(IReadOnlyList<string> args, bool terminal = false, IReadOnlyList<string>? env = null,
        string cwd = "/", uint uid = 0, uint gid = 0) =>
        ProcessNode(args, terminal, env ?? DefaultEnv, cwd, uid, gid).ToJsonString();

    private static JsonObject ProcessNode(IReadOnlyList<string> args, bool terminal, IReadOnlyList<string> env, string cwd,
        uint uid, uint gid)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Count == 0) throw new ArgumentException("a process needs at least one argument", nameof(args));
        if (!cwd.StartsWith('/')) throw new ArgumentException($"cwd must be absolute: {cwd}", nameof(cwd));
        return new JsonObject
        {
            ["terminal"] = terminal,
            ["user"] = new JsonObject { ["uid"] = uid, ["gid"] = gid },
            ["args"] = Strings(args),
            ["env"] = Strings(env),
            ["cwd"] = cwd,
            ["capabilities"] = new JsonObject
            {
                ["bounding"] = Strings(DefaultCapabilities),
                ["effective"] = Strings(DefaultCapabilities),
                ["permitted"] = Strings(DefaultCapabilities),
            },
            ["rlimits"] = new JsonArray(new JsonObject { ["type"] = "RLIMIT_NOFILE", ["hard"] = 1024, ["soft"] = 1024 }),
            ["noNewPrivileges"] = true,
        };
    }

    private static JsonObject Mount(string destination, string type, string source, params string[] options) => new()
    {
        ["destination"] = destination,
        ["type"] = type,
        ["source"] = source,
        ["options"] = Strings(options),
    };

    private static JsonArray Strings(IEnumerable<string> values) =>
        new(values.Select(v => (JsonNode)JsonValue.Create(v)!).ToArray());
}
