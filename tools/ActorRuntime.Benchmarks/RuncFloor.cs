using System.Diagnostics;
using System.Text.Json.Nodes;
using ActorRuntime.Testing;

namespace ActorRuntime.Benchmarks;

/// <summary>
/// The floor under every container lifecycle on this machine: `runc run` of a /bin/true bundle, no shim, no daemon,
/// no client (create, start, wait and delete in one runc process). Both daemons pay at least this per container.
/// </summary>
internal static class RuncFloor
{
    public static async Task<double?> MeasureAsync(string rootfs, int runs, TextWriter log)
    {
        var dir = Directory.CreateTempSubdirectory("arbench-runc-").FullName;
        var runcRoot = Path.Combine(dir, "runc");
        try
        {
            var bundle = Path.Combine(dir, "bundle");
            Directory.CreateDirectory(bundle);
            var spec = await Shell.ExecAsync("runc", ["spec", "--bundle", bundle], TimeSpan.FromSeconds(10));
            if (spec.Code != 0) throw new InvalidOperationException($"runc spec: {spec.Stderr.Trim()}");
            var config = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(bundle, "config.json")))!;
            config["root"] = new JsonObject { ["path"] = rootfs, ["readonly"] = true };
            config["process"]!["args"] = new JsonArray("/bin/true");
            config["process"]!["terminal"] = false;
            await File.WriteAllTextAsync(Path.Combine(bundle, "config.json"), config.ToJsonString());
            var samples = new List<double>();
            for (var i = -2; i < runs; i++)
            {
                var sw = Stopwatch.StartNew();
                var r = await Shell.ExecAsync("runc", ["--root", runcRoot, "run", "--bundle", bundle, $"floor-{i + 2}"], TimeSpan.FromSeconds(30));
                if (r.Code != 0) throw new InvalidOperationException($"runc run: exit {r.Code}: {r.Stderr.Trim()}");
                if (i >= 0) samples.Add(sw.Elapsed.TotalMilliseconds);
            }
            return LifecycleBenchmark.Median(samples);
        }
        catch (Exception e)
        {
            log.WriteLine($"clients: the runc floor was not measured: {e.Message}");
            return null;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
