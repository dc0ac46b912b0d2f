using System.Diagnostics;
using System.Security.Cryptography;
using ActorRuntime.Diagnostics;
using ActorRuntime.Testing;
using ActorRuntime.Oci;

namespace ActorRuntime.Benchmarks;

/// <summary>
/// The full crash-point walk (CI walks one point per operation, CrashPointSpec): every <see cref="FailPoint"/> in turn
/// through <see cref="CrashPointRun"/>, each in its own directories and namespace, then its leaks counted and cleaned.
/// </summary>
internal static class CrashWalk
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter log)
    {
        var only = new List<string>();
        TimeSpan? retention = null;
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == "--only" && i + 1 < args.Count) only.Add(args[++i]);
            else if (args[i] == "--event-retention" && i + 1 < args.Count)
                retention = TimeSpan.FromMilliseconds(int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture));
            else
            {
                log.WriteLine($"unknown option {args[i]}");
                return 2;
            }
        }
        var points = only.Count > 0 ? only : FailPoint.All;
        var failed = 0;
        var watch = Stopwatch.StartNew();
        output.WriteLine("| crash point | hit | generations | lost | duplicated | wrong status | leaks | other problems |");
        output.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |");
        foreach (var point in points)
        {
            var tag = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
            var dir = $"/tmp/arwalk-{tag}";
            var place = new CrashPointPlace(dir, Path.Combine(dir, "state"), Path.Combine(dir, "runc"), $"arwalk-{tag}",
                BusyboxImage.Ensure("/var/tmp/actorruntime-bench-busybox")) { EventRetention = retention };
            try
            {
                var outcome = await CrashPointRun.RunAsync(place, point, log);
                await Task.Delay(500);
                var leaks = await Cleanup.CountLeaksAsync(place.StateDirectory, place.RuncRoot, place.Namespace, dir, ["box"]);
                var problems = outcome.AllProblems.Concat(leaks.Details).ToList();
                if (problems.Count > 0) failed++;
                var a = outcome.Audit;
                output.WriteLine($"| {point} | {(outcome.Hit ? "yes" : "NO")} | {outcome.Generations} | {a.Lost} | {a.Duplicated} | {a.WrongStatus} | " +
                                 $"{leaks.Shims + leaks.Bundles + leaks.Fifos + leaks.Other} | {string.Join("; ", problems.Except(a.Problems))} |");
                foreach (var p in problems) log.WriteLine($"[crash-walk] {point}: {p}");
            }
            catch (Exception e)
            {
                failed++;
                output.WriteLine($"| {point} | ? | | | | | | walk failed: {e.Message.Split('\n')[0]} |");
                log.WriteLine($"[crash-walk] {point}: {e}");
            }
            finally
            {
                await Cleanup.ForceCleanAsync(place.StateDirectory, place.RuncRoot, place.Namespace, dir);
            }
        }
        output.WriteLine();
        output.WriteLine($"{points.Count} crash points, {failed} with problems, {watch.Elapsed.TotalSeconds:F0} s");
        return failed == 0 ? 0 : 1;
    }
}
