using System.Runtime.InteropServices;
using System.Text;

namespace ActorRuntime.Daemon;

/// <summary>
/// Starts actorruntimed again in place: execv of this process's own executable with its own command line, as read from
/// /proc/self. Same pid, same stdio, same environment; a fresh runtime, exactly as a restarted daemon (a second actor
/// system in one process does not recover sharding's remembered entities: their serializer is not found). Descriptors
/// .NET opened are close-on-exec, so the root lock and sockets go with the old image.
/// </summary>
public static class SelfExec
{
    [DllImport("libc", SetLastError = true)]
    private static extern int execv(string path, string?[] argv);

    /// <summary>Does not return unless the exec failed; then the error says why.</summary>
    public static string Restart()
    {
        var argv = File.ReadAllText("/proc/self/cmdline", Encoding.UTF8).TrimEnd('\0').Split('\0');
        var executable = new FileInfo("/proc/self/exe").LinkTarget ?? "/proc/self/exe";
        execv(executable, [.. argv, null]);
        return $"execv {executable}: {Marshal.GetLastPInvokeErrorMessage()}";
    }
}
