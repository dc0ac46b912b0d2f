using System.Text.Json;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Oci;

namespace ActorRuntime.Tests;

public sealed class OciSpecSpec
{
    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement;

    private static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    [Fact]
    public void Config_has_the_process_root_and_hostname()
    {
        var spec = Parse(OciSpec.ConfigJson("ns1", "c1",
            new OciContainerSpec(["sh", "-c", "echo hi"]) { Env = ["PATH=/bin", "A=b"], Cwd = "/tmp", Terminal = true }));

        Assert.Equal("1.0.2", spec.GetProperty("ociVersion").GetString());
        var process = spec.GetProperty("process");
        Assert.Equal(["sh", "-c", "echo hi"], Strings(process.GetProperty("args")));
        Assert.Equal(["PATH=/bin", "A=b"], Strings(process.GetProperty("env")));
        Assert.Equal("/tmp", process.GetProperty("cwd").GetString());
        Assert.True(process.GetProperty("terminal").GetBoolean());
        Assert.Equal(0, process.GetProperty("user").GetProperty("uid").GetInt32());
        Assert.Contains("CAP_KILL", Strings(process.GetProperty("capabilities").GetProperty("bounding")));
        Assert.Equal("rootfs", spec.GetProperty("root").GetProperty("path").GetString());
        Assert.True(spec.GetProperty("root").GetProperty("readonly").GetBoolean());
        Assert.Equal("c1", spec.GetProperty("hostname").GetString());
    }

    [Fact]
    public void Config_mounts_the_pseudo_filesystems_with_sys_read_only()
    {
        var spec = Parse(OciSpec.ConfigJson("ns1", "c1", new OciContainerSpec(["true"])));

        var mounts = spec.GetProperty("mounts").EnumerateArray()
            .ToDictionary(m => m.GetProperty("destination").GetString()!, m => m);
        Assert.Equal(["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"], mounts.Keys);
        Assert.Equal("proc", mounts["/proc"].GetProperty("type").GetString());
        Assert.Equal("tmpfs", mounts["/dev"].GetProperty("type").GetString());
        Assert.Equal("devpts", mounts["/dev/pts"].GetProperty("type").GetString());
        Assert.Equal("mqueue", mounts["/dev/mqueue"].GetProperty("type").GetString());
        Assert.Contains("ro", Strings(mounts["/sys"].GetProperty("options")));
        Assert.All(mounts.Values, m => Assert.Contains("nosuid", Strings(m.GetProperty("options"))));
    }

    [Fact]
    public void Config_isolates_namespaces_masks_paths_and_names_the_cgroup_after_ns_and_id()
    {
        var linux = Parse(OciSpec.ConfigJson("ns1", "c1", new OciContainerSpec(["true"]))).GetProperty("linux");

        Assert.Equal(["pid", "ipc", "uts", "mount", "network"],
            linux.GetProperty("namespaces").EnumerateArray().Select(n => n.GetProperty("type").GetString()!).ToArray());
        Assert.Equal("/ns1/c1", linux.GetProperty("cgroupsPath").GetString());
        Assert.Contains("/proc/kcore", Strings(linux.GetProperty("maskedPaths")));
        Assert.Contains("/proc/sys", Strings(linux.GetProperty("readonlyPaths")));
        var resources = linux.GetProperty("resources");
        Assert.False(resources.TryGetProperty("memory", out _));
        Assert.False(resources.TryGetProperty("pids", out _));
    }

    [Fact]
    public void Config_carries_memory_and_pids_limits_when_asked()
    {
        var resources = Parse(OciSpec.ConfigJson("ns1", "c1",
                new OciContainerSpec(["true"]) { MemoryLimitBytes = 16 * 1024 * 1024, PidsLimit = 20 }))
            .GetProperty("linux").GetProperty("resources");

        Assert.Equal(16 * 1024 * 1024, resources.GetProperty("memory").GetProperty("limit").GetInt64());
        Assert.Equal(20, resources.GetProperty("pids").GetProperty("limit").GetInt64());
    }

    [Fact]
    public void Config_validates_ns_and_id_because_they_become_a_cgroup_path()
    {
        Assert.Throws<InvalidArgumentException>(() => OciSpec.ConfigJson("ns1", "../../x", new OciContainerSpec(["true"])));
        Assert.Throws<InvalidArgumentException>(() => OciSpec.ConfigJson("", "c1", new OciContainerSpec(["true"])));
    }

    [Fact]
    public void ProcessJson_is_a_bare_oci_process()
    {
        var process = Parse(OciSpec.ProcessJson(["sleep", "5"], terminal: false, env: ["X=1"], cwd: "/"));

        Assert.Equal(["sleep", "5"], Strings(process.GetProperty("args")));
        Assert.Equal(["X=1"], Strings(process.GetProperty("env")));
        Assert.Equal("/", process.GetProperty("cwd").GetString());
        Assert.False(process.GetProperty("terminal").GetBoolean());
        Assert.False(process.TryGetProperty("root", out _));
        Assert.Equal(OciSpec.DefaultEnv, Strings(Parse(OciSpec.ProcessJson(["true"])).GetProperty("env")));
    }

    [Fact]
    public void ProcessJson_rejects_empty_args_and_relative_cwd()
    {
        Assert.Throws<ArgumentException>(() => OciSpec.ProcessJson([]));
        Assert.Throws<ArgumentException>(() => OciSpec.ProcessJson(["true"], cwd: "tmp"));
    }
}
