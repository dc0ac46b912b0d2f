using System.Text;

namespace ActorRuntime.Native;

/// <summary>Reads mount points from /proc/self/mountinfo and unmounts trees, deepest first.</summary>
internal static class MountInfo
{
    /// <summary>Mount points equal to or below <paramref name="directory"/>, deepest first (the order to unmount them).</summary>
    public static IReadOnlyList<string> MountPointsUnder(string directory)
    {
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        var result = new List<string>();
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            // Format: id parent major:minor root mount-point options ... ; field 5 is the mount point, octal-escaped.
            var fields = line.Split(' ');
            if (fields.Length < 5) continue;
            var mountPoint = Unescape(fields[4]);
            if (mountPoint == root || mountPoint.StartsWith(root + "/", StringComparison.Ordinal))
                result.Add(mountPoint);
        }
        return result.OrderByDescending(p => p.Length).ToList();
    }

    /// <summary>
    /// Unmounts everything at or below <paramref name="directory"/>. A busy mount is detached lazily (MNT_DETACH)
    /// so it can no longer be reached through this path. Throws if something is still mounted afterwards, because
    /// deleting recursively through a live mount would destroy the mounted source (e.g. a shared rootfs image).
    /// </summary>
    public static void UnmountAllUnder(string directory)
    {
        // Stacked and recursive bind mounts can need several rounds; each round removes at least the top mounts.
        for (var round = 0; round < 8; round++)
        {
            var mounts = MountPointsUnder(directory);
            if (mounts.Count == 0) return;
            foreach (var mountPoint in mounts)
            {
                if (Libc.Umount2(mountPoint, 0) == 0) continue;
                var errno = Libc.LastError;
                if (errno == Libc.EINVAL || errno == Libc.ENOENT) continue; // already gone (parent detached it)
                if (Libc.Umount2(mountPoint, Libc.MNT_DETACH) != 0 && Libc.LastError is not (Libc.EINVAL or Libc.ENOENT))
                    throw Libc.Error("umount2", mountPoint, Libc.LastError);
            }
        }
        var left = MountPointsUnder(directory);
        if (left.Count > 0)
            throw new IOException($"still mounted below {directory}: {string.Join(", ", left)}");
    }

    /// <summary>mountinfo escapes space, tab, newline and backslash as \ooo.</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\')) return field;
        var bytes = new List<byte>(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && IsOctal(field, i + 1))
            {
                bytes.Add((byte)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(field[i].ToString()));
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static bool IsOctal(string s, int start) =>
        start + 3 <= s.Length && s.Skip(start).Take(3).All(c => c is >= '0' and <= '7');
}
