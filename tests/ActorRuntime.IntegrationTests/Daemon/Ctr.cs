using System.Diagnostics;

namespace ActorRuntime.IntegrationTests.Daemon;

/// <summary>The real ctr binary (containerd 1.6's client) against a socket.</summary>
internal static class Ctr
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\n{Stdout}\n{Stderr}";
    }

    public static async Task<Result> RunAsync(string address, params string[] args)
    {
        var start = new ProcessStartInfo("ctr")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-a", address, "--timeout", "10s" }.Concat(args)) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs ctr and fails with its output unless it exits 0.</summary>
    public static async Task<string> OkAsync(string address, params string[] args)
    {
        var result = await RunAsync(address, args);
        Assert.True(result.ExitCode == 0, $"ctr {string.Join(' ', args)}: {result}");
        return result.Stdout;
    }
}
