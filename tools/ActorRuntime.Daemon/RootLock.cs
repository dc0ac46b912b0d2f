namespace ActorRuntime.Daemon;

/// <summary>
/// One daemon per root: an exclusive lock on &lt;root&gt;/actorruntimed.lock held for the daemon's life. .NET opens a file
/// with FileShare.None under flock(LOCK_EX | LOCK_NB) on Linux, so the kernel drops the lock when the process dies,
/// however it dies, and a second opener fails at once.
/// </summary>
internal sealed class RootLock : IDisposable
{
    public const string FileName = "actorruntimed.lock";

    private readonly FileStream _file;

    private RootLock(FileStream file) => _file = file;

    /// <summary>Throws InvalidOperationException with a message for the operator when another daemon holds the root.</summary>
    public static RootLock Acquire(string root)
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
                $"root {root} is in use by another actorruntimed (lock {path} is held): {e.Message}", e);
        }
    }

    public void Dispose() => _file.Dispose();
}
