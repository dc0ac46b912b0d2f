using System.Security.Cryptography;
using ActorRuntime.Tasks;

namespace ActorRuntime.Oci;

/// <summary>
/// A tiny root filesystem built from the host's static <c>/bin/busybox</c>: enough to run sh, sleep, echo, ... in a
/// container. It is bind-mounted read-only onto each bundle's <c>rootfs</c> (see <see cref="BindMount"/>), so one
/// image directory serves every container. For tests, demos and arctl (a new user needs no image registry); the
/// runtime itself takes whatever rootfs mounts its caller gives.
/// </summary>
public static class BusyboxImage
{
    public const string HostBusybox = "/bin/busybox";

    /// <summary>Applets linked into /bin (shell builtins such as trap need no link).</summary>
    public static readonly IReadOnlyList<string> Applets =
    [
        "sh", "echo", "sleep", "cat", "true", "false", "ls", "ps", "env", "kill", "hostname", "id", "mkdir", "rm",
        "touch", "wc", "head", "grep", "printf", "test", "date", "dd", "yes", "uname", "top", "stty", "tty",
    ];

    /// <summary>Mount points the runtime spec mounts over; a read-only root cannot get them created by runc.</summary>
    private static readonly string[] EmptyDirectories = ["proc", "dev", "sys", "tmp", "etc"];

    /// <summary>
    /// Creates the image at <paramref name="imageDirectory"/> unless it is already there, and returns its full path.
    /// Safe against concurrent callers (threads or processes): each builds in a private sibling directory and renames
    /// it into place; a rename onto an existing, complete image fails and the loser discards its copy.
    /// </summary>
    public static string Ensure(string imageDirectory)
    {
        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(imageDirectory));
        if (IsComplete(target)) return target;
        if (Directory.Exists(target))
            throw new IOException($"{target} exists but is not a busybox image (no bin/busybox)");

        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        var building = Path.Combine(parent,
            $".{Path.GetFileName(target)}.building-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}");
        try
        {
            Build(building);
            try
            {
                Directory.Move(building, target);
            }
            catch (IOException) when (IsComplete(target))
            {
                // Another caller finished first; theirs is as good as ours.
            }
        }
        finally
        {
            if (Directory.Exists(building)) Directory.Delete(building, recursive: true);
        }
        if (!IsComplete(target)) throw new IOException($"could not create busybox image at {target}");
        return target;
    }

    /// <summary>
    /// The rootfs mount to create a container with: the shim mounts it onto <c>&lt;bundle&gt;/rootfs</c> (ignoring
    /// target) and unmounts it on Delete.
    /// </summary>
    public static MountSpec BindMount(string imageDirectory) =>
        new("bind", Path.TrimEndingDirectorySeparator(Path.GetFullPath(imageDirectory)), ["rbind", "ro"]);

    private static bool IsComplete(string directory) => File.Exists(Path.Combine(directory, "bin", "busybox"));

    private static void Build(string directory)
    {
        var bin = Path.Combine(directory, "bin");
        Directory.CreateDirectory(bin);
        foreach (var name in EmptyDirectories) Directory.CreateDirectory(Path.Combine(directory, name));
        File.Copy(HostBusybox, Path.Combine(bin, "busybox")); // keeps the executable mode
        // Relative links keep the image valid wherever it is mounted.
        foreach (var applet in Applets) File.CreateSymbolicLink(Path.Combine(bin, applet), "busybox");
    }
}
