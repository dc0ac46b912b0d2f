using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;

namespace ActorRuntime.Testing;

/// <summary>
/// One real actorruntimed process (<c>dotnet actorruntimed.dll</c>) on a caller's socket, root and state directory, for
/// the integration specs and the clients benchmark. Disposal SIGKILLs a daemon still running.
/// </summary>
public sealed class DaemonProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stderr = new();

    private DaemonProcess(Process process, string address)
    {
        _process = process;
        Address = address;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line) _stderr.Enqueue(line);
        };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    public string Address { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Stderr => string.Join('\n', _stderr);

    /// <summary>The build output: AssemblyMetadata "ActorRuntimedDll" (set in this project).</summary>
    public static string Dll => typeof(DaemonProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "ActorRuntimedDll").Value!;

    /// <summary><paramref name="address"/>: the --address flag and where the daemon is expected to serve.</summary>
    public static DaemonProcess Start(string address, string root, string state, params string[] extra) =>
        Start(address, ["--address", address, "--root", root, "--state", state, .. extra]);

    /// <summary>With exactly <paramref name="args"/>; the daemon is expected to serve on <paramref name="address"/>.</summary>
    public static DaemonProcess Start(string address, IEnumerable<string> args) => Start(address, args, launcher: []);

    /// <summary>
    /// Through <paramref name="launcher"/> (e.g. nsenter into a network namespace), which must exec dotnet in its own
    /// place: <see cref="Pid"/> and the signals sent are the daemon's only then.
    /// </summary>
    public static DaemonProcess Start(string address, IEnumerable<string> args, IReadOnlyList<string> launcher)
    {
        var start = new ProcessStartInfo(launcher.Count > 0 ? launcher[0] : "dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // The runtime's diagnostics endpoints (a debugger FIFO pair and an IPC socket in /tmp) are removed at a normal exit
        // only; a daemon a spec SIGKILLs would leave them behind, so daemons started here open none.
        start.Environment["DOTNET_EnableDiagnostics"] = "0";
        foreach (var arg in launcher.Count > 0 ? [.. launcher.Skip(1), "dotnet", Dll, .. args] : args.Prepend(Dll))
            start.ArgumentList.Add(arg);
        return new DaemonProcess(Process.Start(start)!, address);
    }

    /// <summary>Waits until ctr gets an answer on the socket, or the daemon exits (which fails the wait).</summary>
    public async Task WaitServingAsync(TimeSpan bound)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < bound)
        {
            if (_process.HasExited) throw new InvalidOperationException($"actorruntimed exited with {_process.ExitCode}:\n{Stderr}");
            if (File.Exists(Address) && await AnswersAsync()) return;
            await Task.Delay(100);
        }
        throw new TimeoutException($"actorruntimed did not serve on {Address} within {bound}:\n{Stderr}");
    }

    /// <summary>
    /// One ctr call, bounded. The socket a killed daemon left stays until its successor binds, and ctr's connect to it
    /// waits with no timeout of its own: a try that hangs is "not yet", like a refused one.
    /// </summary>
    private async Task<bool> AnswersAsync()
    {
        try
        {
            return (await Shell.RunAsync("ctr", ["--connect-timeout", "2s", "-a", Address, "version"], TimeSpan.FromSeconds(10))).Code == 0;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>The exit code, once it exits within <paramref name="bound"/>.</summary>
    public async Task<int> WaitExitAsync(TimeSpan bound)
    {
        await _process.WaitForExitAsync().WaitAsync(bound);
        return _process.ExitCode;
    }

    /// <summary>
    /// Stops it as an operator would (SIGTERM) and waits for the exit within <paramref name="bound"/>; killed if it
    /// does not exit. Returns its exit code (the kill's, when it hung).
    /// </summary>
    public async Task<int> StopAsync(TimeSpan bound)
    {
        try
        {
            if (!_process.HasExited) Signal(15);
            return await WaitExitAsync(bound);
        }
        finally
        {
            await DisposeAsync();
        }
    }

    public void Signal(int signal)
    {
        if (Kill(_process.Id, signal) != 0) throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed");
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
