using System.Runtime.InteropServices;

namespace ActorRuntime.Native;

/// <summary>The local terminal for arctl's run -t / exec -t: raw mode (termios) and the window size.</summary>
internal static partial class Libc
{
    public const int STDIN_FILENO = 0;
    public const int STDOUT_FILENO = 1;
    public const int TCSANOW = 0;
    public const ulong TIOCGWINSZ = 0x5413;

    /// <summary>struct termios (Linux, glibc): four flag words, the line discipline, 32 control chars, two speeds.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct Termios
    {
        public uint c_iflag;
        public uint c_oflag;
        public uint c_cflag;
        public uint c_lflag;
        public byte c_line;
        public fixed byte c_cc[32];
        public uint c_ispeed;
        public uint c_ospeed;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct WinSize
    {
        public ushort ws_row;
        public ushort ws_col;
        public ushort ws_xpixel;
        public ushort ws_ypixel;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int isatty(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int tcgetattr(int fd, out Termios termios);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int tcsetattr(int fd, int optionalActions, in Termios termios);

    /// <summary>Sets the flags as cfmakeraw does: no echo, no line editing, no signals from keys, 8-bit bytes.</summary>
    [LibraryImport("libc")]
    public static partial void cfmakeraw(ref Termios termios);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl_winsize(int fd, ulong request, out WinSize size);
}
