using ActorRuntime.Native;

namespace ActorRuntime.Cli;

/// <summary>
/// The terminal arctl runs in, for run -t / exec -t: raw mode while the container owns it (keys, Ctrl-C included, go
/// to the container's pty unchanged), restored on dispose however the command ends.
/// </summary>
internal sealed class LocalTerminal : IDisposable
{
    private readonly Libc.Termios _saved;

    private LocalTerminal(Libc.Termios saved) => _saved = saved;

    public static bool IsTerminal => Libc.isatty(Libc.STDIN_FILENO) == 1;

    /// <summary>Raw mode on stdin; null when stdin is not a terminal (a pipe, a file).</summary>
    public static LocalTerminal? EnterRaw()
    {
        if (!IsTerminal || Libc.tcgetattr(Libc.STDIN_FILENO, out var saved) != 0) return null;
        var raw = saved;
        Libc.cfmakeraw(ref raw);
        return Libc.tcsetattr(Libc.STDIN_FILENO, Libc.TCSANOW, raw) == 0 ? new LocalTerminal(saved) : null;
    }

    /// <summary>The window's columns and rows (stdout's, then stdin's); null when neither is a terminal.</summary>
    public static (uint Width, uint Height)? Size()
    {
        foreach (var fd in new[] { Libc.STDOUT_FILENO, Libc.STDIN_FILENO })
            if (Libc.ioctl_winsize(fd, Libc.TIOCGWINSZ, out var size) == 0 && size.ws_col > 0)
                return (size.ws_col, size.ws_row);
        return null;
    }

    public void Dispose() => Libc.tcsetattr(Libc.STDIN_FILENO, Libc.TCSANOW, _saved);
}
