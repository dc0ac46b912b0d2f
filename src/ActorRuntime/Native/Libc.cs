using System.Runtime.InteropServices;

namespace ActorRuntime.Native;

/// <summary>
/// The few libc calls .NET has no managed equivalent for: FIFOs, exclusive mkdir, non-blocking FIFO I/O with poll, umount2.
/// All return -1 and set errno (read it with <see cref="Marshal.GetLastPInvokeError"/>).
/// </summary>
internal static partial class Libc
{
    // Linux x86-64 / arm64 values (asm-generic).
    public const int O_RDONLY = 0x0;
    public const int O_WRONLY = 0x1;
    public const int O_RDWR = 0x2;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;

    public const short POLLIN = 0x1;
    public const short POLLERR = 0x8;
    public const short POLLHUP = 0x10;
    public const short POLLNVAL = 0x20;

    public const int MNT_DETACH = 0x2;

    public const int EINTR = 4;
    public const int ENOENT = 2;
    public const int ENXIO = 6;
    public const int EAGAIN = 11;
    public const int EPIPE = 32;
    public const int EEXIST = 17;
    public const int EINVAL = 22;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MkFifo(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MkDir(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "chmod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chmod(string path, uint mode);

    /// <summary>chmod that throws; used instead of File.SetUnixFileMode, which the platform analyzer flags.</summary>
    public static void ChmodOrThrow(string path, uint mode)
    {
        if (Chmod(path, mode) != 0) throw Error("chmod", path, LastError);
    }

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Chown(string path, int owner, int group);

    /// <summary>Gives <paramref name="path"/> to <paramref name="uid"/>:<paramref name="gid"/> (a process's stdio FIFOs).</summary>
    public static void ChownOrThrow(string path, int uid, int gid)
    {
        if (Chown(path, uid, gid) != 0) throw Error("chown", path, LastError);
    }

    /// <summary>Gives <paramref name="path"/> to group <paramref name="gid"/>, its owner kept (actorruntimed's --group socket).</summary>
    public static void ChgrpOrThrow(string path, int gid)
    {
        if (Chown(path, -1, gid) != 0) throw Error("chown", path, LastError);
    }

    public const int X_OK = 1;

    [LibraryImport("libc", EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Access(string path, int mode);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static unsafe partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static unsafe partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static unsafe partial nint Write(int fd, byte* buffer, nuint count);

    public const int EPOLL_CLOEXEC = 0x80000;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const uint EPOLLIN = 0x1;
    public const uint EPOLLOUT = 0x4;
    public const uint EPOLLONESHOT = 0x40000000;
    public const uint EPOLLERR = 0x8;
    public const uint EPOLLHUP = 0x10;
    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;

    /// <summary>
    /// Bytes per struct epoll_event: the kernel packs it (u32 events, u64 data) on x86-64 only; elsewhere data is
    /// 8-aligned. Events are read and written through <see cref="EpollEventSize"/> and <see cref="EpollDataOffset"/>.
    /// </summary>
    public static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    public static readonly int EpollDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static unsafe partial int EpollCtl(int epfd, int op, int fd, byte* epollEvent);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static unsafe partial int EpollWait(int epfd, byte* epollEvents, int maxEvents, int timeoutMilliseconds);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initialValue, int flags);

    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Umount2(string target, int flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirFd, string path, int flags, uint mask, byte* statxBuffer);

    private const int AT_FDCWD = -100;
    private const int AT_SYMLINK_NOFOLLOW = 0x100;
    private const uint STATX_TYPE = 0x1;
    private const int StatxSize = 256;      // struct statx is fixed-size and the same on every architecture
    private const int StatxModeOffset = 28; // __u16 stx_mode
    public const uint S_IFMT = 0xF000;
    public const uint S_IFIFO = 0x1000;

    /// <summary>The S_IFMT bits of <paramref name="path"/> (not following a final symlink); null if it does not exist.</summary>
    public static unsafe uint? FileTypeOf(string path)
    {
        var buffer = stackalloc byte[StatxSize];
        if (Statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, buffer) != 0)
        {
            var errno = LastError;
            if (errno == ENOENT) return null;
            throw Error("statx", path, errno);
        }
        return *(ushort*)(buffer + StatxModeOffset) & S_IFMT;
    }

    public static int LastError => Marshal.GetLastPInvokeError();

    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    public static IOException Error(string operation, string path, int errno) =>
        new($"{operation} {path}: {Describe(errno)} (errno {errno})");
}
