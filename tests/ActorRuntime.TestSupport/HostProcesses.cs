using System.Diagnostics;

namespace ActorRuntime.Testing;

/// <summary>Looks at the host's processes through /proc, and runs small commands (runc, mount).</summary>
public static class HostProcesses
{
    public sealed record ProcessEntry(int Pid, string? Cwd, IReadOnlyList<string> CommandLine);

    /// <summary>Every live (non-zombie) process; cwd is null when it cannot be read.</summary>
    public static IEnumerable<ProcessEntry> All()
    {
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid)) continue;
            string[] commandLine;
            string? cwd;
            try
            {
                commandLine = File.ReadAllText(Path.Combine(directory, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
                if (commandLine.Length == 0) continue; // kernel thread or zombie
                cwd = new DirectoryInfo(Path.Combine(directory, "cwd")).LinkTarget;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // exited meanwhile
            }
            yield return new ProcessEntry(pid, cwd, commandLine);
        }
    }

    /// <summary>The shims working in a bundle under <paramref name="directory"/> (a shim's cwd is its bundle).</summary>
    public static List<ProcessEntry> ShimsUnder(string directory) =>
        All().Where(IsShim).Where(p => p.Cwd?.StartsWith(directory + "/", StringComparison.Ordinal) == true).ToList();

    public static bool IsShim(ProcessEntry process) =>
        Path.GetFileName(process.CommandLine[0]).StartsWith("containerd-shim", StringComparison.Ordinal);

    /// <summary>
    /// True while any thread of the process still runs. A killed Go process's main thread turns zombie before its
    /// other threads have exited and released the fd table (e.g. a listening socket), so the leader's state alone is not enough.
    /// </summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var state = stat[(stat.LastIndexOf(')') + 2)..][0];
                if (state is not ('Z' or 'X')) return true;
            }
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // gone (ENOENT / ESRCH)
        }
    }

    public static Task WaitUntilGoneAsync(int pid, TimeSpan timeout) =>
        Eventually.EventuallyAsync(() => !IsAlive(pid), $"process {pid} to be gone", timeout);

    public static void Kill(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }
        catch (ArgumentException)
        {
            // gone already
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>Runs a command to completion; returns exit code and combined output.</summary>
    public static (int ExitCode, string Output) Run(string file, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) startInfo.ArgumentList.Add(argument);
        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} did not finish");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
