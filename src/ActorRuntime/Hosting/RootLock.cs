namespace ActorRuntime.Hosting;

/// <summary>
/// One runtime per root: an exclusive lock on &lt;root&gt;/actorruntimed.lock held for the runtime's life, taken by
/// actorruntimed and by an in-process arctl alike, so the two (or two of either) never share a root. .NET opens a file
/// with FileShare.None under flock(LOCK_EX | LOCK_NB) on Linux, so the kernel drops the lock when the process dies,
/// however it dies, and a second opener fails at once.
/// </summary>
public sealed class RootLock : IDisposable
{
    public const string FileName = "actorruntimed.lock";

    private readonly FileStream _file;

    private RootLock(FileStream file) => _file = file;

    /// <summary>
    /// Throws InvalidOperationException with a message for the operator when another runtime holds the root;
    /// <paramref name="advice"/> (what to do instead) is appended to it.
    /// </summary>
    public static RootLock Acquire(string root, string? advice = null)
    {
        Directory.CreateDirectory(root);
        var path = Path.Combine(root, FileName);
        try
        {
            return new RootLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException e)
        {
            throw new InvalidOperationException(
                $"root {root} is in use by another runtime (actorruntimed or an in-process arctl; lock {path} is held)" +
                (advice is null ? "" : $"; {advice}"), e);
        }
    }

    public void Dispose() => _file.Dispose();
}
