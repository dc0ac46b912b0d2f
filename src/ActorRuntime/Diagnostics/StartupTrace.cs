using System.Diagnostics;

namespace ActorRuntime.Diagnostics;

/// <summary>
/// With <c>ACTORRUNTIME_STARTUP_TRACE=1</c>, each start-up phase writes one stderr line with the milliseconds since the
/// process started, so a slow start can be taken apart without a profiler (a profiler slows start-up by itself).
/// </summary>
public static class StartupTrace
{
    public const string Variable = "ACTORRUNTIME_STARTUP_TRACE";

    private static readonly bool Enabled = Environment.GetEnvironmentVariable(Variable) is "1" or "true";

    public static void Mark(string phase)
    {
        if (!Enabled) return;
        var since = DateTime.Now - Process.GetCurrentProcess().StartTime;
        Console.Error.WriteLine($"startup +{since.TotalMilliseconds:F0} ms {phase} (thread {Environment.CurrentManagedThreadId})");
    }
}
