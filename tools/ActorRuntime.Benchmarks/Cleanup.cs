using System.Security.Cryptography;
using System.Text;
using ActorRuntime.Testing;

namespace ActorRuntime.Benchmarks;

/// <summary>What a benchmark run leaves behind under its own directories and namespace: counted (soak), then removed.</summary>
internal static class Cleanup
{
    public sealed record Leaks(int Shims, int Bundles, int Fifos, int Other, IReadOnlyList<string> Details);

    /// <summary>
    /// Shim processes of the state directory, bundles (and half-deleted ones), FIFOs anywhere under <paramref name="dir"/>,
    /// and as "other": runc containers, mounts, container cgroups and shim sockets of <paramref name="ids"/>.
    /// </summary>
    public static async Task<Leaks> CountLeaksAsync(string state, string runcRoot, string ns, string dir, IEnumerable<string> ids)
    {
        var details = new List<string>();
        var shims = OwnShims(state).ToList();
        details.AddRange(shims.Select(s => $"shim left: {s.Pid} cwd={s.Cwd}"));
        var bundleDir = Path.Combine(state, ns);
        var bundles = Directory.Exists(bundleDir) ? Directory.EnumerateFileSystemEntries(bundleDir).ToList() : [];
        details.AddRange(bundles.Select(b => $"bundle left: {b}"));
        var (_, fifoList) = await Shell.RunAsync("find", [dir, "-type", "p"]);
        var fifos = fifoList.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        details.AddRange(fifos.Select(f => $"FIFO left: {f}"));
        var other = new List<string>();
        var root = Path.Combine(runcRoot, ns);
        if (Directory.Exists(root))
        {
            var (_, list) = await Shell.RunAsync("runc", ["--root", root, "list", "-q"]);
            other.AddRange(list.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(id => $"runc container left: {id}"));
        }
        other.AddRange(File.ReadAllLines("/proc/self/mountinfo").Select(l => l.Split(' ')[4])
            .Where(m => m.StartsWith(dir + "/", StringComparison.Ordinal)).Select(m => $"mount left: {m}"));
        other.AddRange(Directory.EnumerateDirectories("/sys/fs/cgroup").Select(h => Path.Combine(h, ns)).Where(Directory.Exists)
            .SelectMany(Directory.EnumerateDirectories).Select(c => $"cgroup left: {c}"));
        var grpc = Path.Combine(state, "actorruntime.sock");
        other.AddRange(ids.Select(id => "/run/containerd/s/" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{grpc}/{ns}/{id}"))))
            .Where(File.Exists).Select(s => $"shim socket left: {s}"));
        details.AddRange(other);
        return new Leaks(shims.Count, bundles.Count, fifos.Count, other.Count, details);
    }

    public static IEnumerable<HostProcesses.ProcessEntry> OwnShims(string state) =>
        HostProcesses.All().Where(p => HostProcesses.IsShim(p) && (p.Cwd?.StartsWith(state + "/", StringComparison.Ordinal) == true ||
                                                                   p.CommandLine.Contains(Path.Combine(state, "actorruntime.sock"))));

    /// <summary>Whatever is left after a run: shims of our state dir, runc containers, mounts, cgroups, the directory.</summary>
    public static async Task ForceCleanAsync(string state, string runcRoot, string ns, string dir)
    {
        foreach (var shim in OwnShims(state)) HostProcesses.Kill(shim.Pid);
        var root = Path.Combine(runcRoot, ns);
        if (Directory.Exists(root))
        {
            var (_, list) = await Shell.RunAsync("runc", ["--root", root, "list", "-q"]);
            foreach (var id in list.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                await Shell.RunAsync("runc", ["--root", root, "delete", "--force", id]);
        }
        await Shell.UnmountUnderAsync(dir);
        Cgroups.RemoveNamespace(ns);
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }
}
