using System.Runtime.InteropServices;

namespace ActorRuntime.IntegrationTests.Restart;

internal static class Signals
{
    /// <summary>kill(2); 0 on success, -1 with errno otherwise.</summary>
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
#pragma warning disable SYSLIB1054 // a DllImport keeps the test project free of unsafe code
    public static extern int Kill(int pid, int signal);
#pragma warning restore SYSLIB1054
}
