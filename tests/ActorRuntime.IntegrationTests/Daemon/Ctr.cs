using ActorRuntime.Testing;

namespace ActorRuntime.IntegrationTests.Daemon;

/// <summary>The real ctr binary (containerd 1.6's client) against a socket.</summary>
internal static class Ctr
{
    public static Task<Shell.Result> RunAsync(string address, params string[] args) =>
        Shell.ExecAsync("ctr", ["-a", address, "--timeout", "10s", .. args], TimeSpan.FromSeconds(30));

    /// <summary>Runs ctr and fails with its output unless it exits 0.</summary>
    public static async Task<string> OkAsync(string address, params string[] args)
    {
        var result = await RunAsync(address, args);
        Assert.True(result.Code == 0, $"ctr {string.Join(' ', args)}: {result}");
        return result.Stdout;
    }
}
