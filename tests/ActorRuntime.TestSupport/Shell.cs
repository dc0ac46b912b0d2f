using System.Diagnostics;

namespace ActorRuntime.Testing;

/// <summary>Runs host commands (ctr, runc, docker, umount) for the benchmarks and the specs that drive real daemons.</summary>
public static class Shell
{
    public sealed record Result(int Code, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {Code}\n{Stdout}\n{Stderr}";
    }

    /// <summary>Runs a command to completion (bounded); returns exit code and stdout+stderr.</summary>
    public static async Task<(int Code, string Output)> RunAsync(string file, IEnumerable<string> args, TimeSpan? timeout = null)
    {
        var result = await ExecAsync(file, args, timeout);
        return (result.Code, result.Stdout + result.Stderr);
    }

    /// <summary>Runs a command to completion (bounded), its stdout and stderr apart; a command still running at the bound is killed.</summary>
    public static async Task<Result> ExecAsync(string file, IEnumerable<string> args, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            await p.WaitForExitAsync().WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish");
        }
        return new Result(p.ExitCode, await stdout, await stderr);
    }

    public static async Task<string> CheckAsync(string file, params string[] args)
    {
        var (code, output) = await RunAsync(file, args);
        if (code != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({code}): {output}");
        return output;
    }

    /// <summary>Runs <paramref name="work"/> for every item, at most <paramref name="parallel"/> at a time.</summary>
    public static Task ForEachAsync<T>(IEnumerable<T> items, int parallel, Func<T, Task> work) =>
        Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (item, _) => await work(item));

    /// <summary>Unmounts everything mounted at or under <paramref name="root"/>, deepest first.</summary>
    public static async Task UnmountUnderAsync(string root)
    {
        foreach (var m in MountPointsUnder(root)) await RunAsync("umount", ["-l", m]);
    }

    /// <summary>Mount points at or under <paramref name="root"/>, deepest first.</summary>
    public static IReadOnlyList<string> MountPointsUnder(string root)
    {
        root = root.TrimEnd('/');
        return File.ReadAllLines("/proc/self/mountinfo")
            .Select(l => l.Split(' ')[4].Replace("\\040", " "))
            .Where(m => m == root || m.StartsWith(root + "/", StringComparison.Ordinal))
            .OrderByDescending(m => m.Length)
            .ToList();
    }
}
