using System.Security.Cryptography;
using System.Text;
using ActorRuntime.Native;
using ActorRuntime.Protocol.Ttrpc;

namespace ActorRuntime.Shims;

/// <summary>
/// A task's bundle directory, laid out the way containerd 1.6 prepares it for the runc shim:
/// <c>&lt;state&gt;/&lt;ns&gt;/&lt;id&gt;</c> holding <c>config.json</c>, an empty <c>rootfs/</c> and the <c>log</c> FIFO.
/// The shim adds <c>address</c>, <c>init.pid</c>, <c>options.json</c>, ... and finds its files as
/// <c>dirname(cwd)/&lt;id&gt;</c>, which is why the directory's name must be exactly the id.
/// <para><b>The one owner of "already exists":</b> the bundle directory. <see cref="Create"/>'s mkdir is the only test of
/// whether an id is taken; the directory exists from a Create until the task's teardown or dead-shim cleanup removes it,
/// last. A shim actor lives only while its bundle does, so the ShimManager forwards a Create for an id with a shim actor
/// to that actor, which refuses it as mkdir would; for an id without one, a new shim actor's mkdir decides (a dead
/// shim's bundle keeps its id taken until the cleanup is done).</para>
/// </summary>
public sealed class Bundle
{
    private const uint BundleDirectoryMode = 0x1C9; // 0711, as containerd
    private const uint PrivateFileMode = 0x180;     // 0600
    private const uint LogFifoMode = 0x1C0; // 0700, as containerd's fifo.OpenFifo for the shim log

    private Bundle(string stateDirectory, string ns, string id)
    {
        Namespace = ns;
        Id = id;
        Path = System.IO.Path.Combine(System.IO.Path.GetFullPath(stateDirectory), ns, id);
    }

    public string Namespace { get; }
    public string Id { get; }

    /// <summary><c>&lt;stateDirectory&gt;/&lt;ns&gt;/&lt;id&gt;</c>; its basename is the id.</summary>
    public string Path { get; }

    public string RootfsPath => System.IO.Path.Combine(Path, "rootfs");
    public string ConfigPath => System.IO.Path.Combine(Path, "config.json");
    public string LogFifoPath => System.IO.Path.Combine(Path, "log");
    /// <summary>Written by the shim's <c>start</c>.</summary>
    public string AddressPath => System.IO.Path.Combine(Path, "address");
    /// <summary>Written after <c>start</c> succeeded, as containerd's <c>shim-binary-path</c>.</summary>
    public string ShimBinaryPathFile => System.IO.Path.Combine(Path, "shim-binary-path");

    /// <summary>
    /// Creates the bundle. Fails with <see cref="AlreadyExistsException"/> if the directory exists; on any other failure
    /// removes what it created, so a failed Create leaves nothing behind.
    /// </summary>
    public static Bundle Create(string stateDirectory, string ns, string id, string specJson)
    {
        // Validate first: an id like "../x" must never be combined into a path.
        Identifiers.Validate(ns, "namespace");
        Identifiers.Validate(id, "id");
        ArgumentNullException.ThrowIfNull(specJson);

        var bundle = new Bundle(stateDirectory, ns, id);
        var namespaceDirectory = System.IO.Path.GetDirectoryName(bundle.Path)!;
        Directory.CreateDirectory(namespaceDirectory);

        // mkdir(2) is the atomic "create or fail if present" that Directory.CreateDirectory does not offer.
        if (Libc.MkDir(bundle.Path, BundleDirectoryMode) != 0)
        {
            var errno = Libc.LastError;
            if (errno == Libc.EEXIST)
                throw new AlreadyExistsException($"bundle {ns}/{id}: already exists");
            throw Libc.Error("mkdir", bundle.Path, errno);
        }

        try
        {
            Libc.ChmodOrThrow(bundle.Path, BundleDirectoryMode); // undo the umask
            File.WriteAllText(bundle.ConfigPath, specJson, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            Directory.CreateDirectory(bundle.RootfsPath);
            Libc.ChmodOrThrow(bundle.RootfsPath, BundleDirectoryMode);
            if (Libc.MkFifo(bundle.LogFifoPath, LogFifoMode) != 0)
                throw Libc.Error("mkfifo", bundle.LogFifoPath, Libc.LastError);
            return bundle;
        }
        catch
        {
            bundle.Delete();
            throw;
        }
    }

    /// <summary>An existing bundle; <see cref="NotFoundException"/> if there is none.</summary>
    public static Bundle Load(string stateDirectory, string ns, string id)
    {
        Identifiers.Validate(ns, "namespace");
        Identifiers.Validate(id, "id");
        var bundle = new Bundle(stateDirectory, ns, id);
        if (!Directory.Exists(bundle.Path))
            throw new NotFoundException($"bundle {ns}/{id}: not found");
        return bundle;
    }

    /// <summary>The bundle if it exists (and the ids are valid), else null.</summary>
    public static Bundle? TryLoad(string stateDirectory, string ns, string id)
    {
        if (Identifiers.Check(ns) is not null || Identifiers.Check(id) is not null) return null;
        try
        {
            return Load(stateDirectory, ns, id);
        }
        catch (NotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// Every bundle under the state directory (for restart). Names that are not valid identifiers are skipped,
    /// which also skips the hidden <c>.&lt;id&gt;.deleting-*</c> directories of interrupted deletes.
    /// </summary>
    public static IReadOnlyList<Bundle> List(string stateDirectory)
    {
        var bundles = new List<Bundle>();
        if (!Directory.Exists(stateDirectory)) return bundles;
        foreach (var namespaceDirectory in Directory.EnumerateDirectories(stateDirectory).Order(StringComparer.Ordinal))
        {
            var ns = System.IO.Path.GetFileName(namespaceDirectory);
            if (!Identifiers.IsValid(ns) || IsSymlink(namespaceDirectory)) continue;
            foreach (var bundleDirectory in Directory.EnumerateDirectories(namespaceDirectory).Order(StringComparer.Ordinal))
            {
                var id = System.IO.Path.GetFileName(bundleDirectory);
                if (!Identifiers.IsValid(id) || IsSymlink(bundleDirectory)) continue;
                bundles.Add(new Bundle(stateDirectory, ns, id));
            }
        }
        return bundles;
    }

    /// <summary>
    /// Finishes the deletes a crash interrupted after <see cref="Delete"/>'s rename: removes every
    /// <c>.&lt;id&gt;.deleting-&lt;hex&gt;</c> directory of every namespace (run at start-up, before any bundle is in use).
    /// Anything else, symlinks included, is left alone. Returns the directories removed.
    /// </summary>
    public static IReadOnlyList<string> SweepInterruptedDeletes(string stateDirectory)
    {
        var root = System.IO.Path.GetFullPath(stateDirectory);
        if (!Directory.Exists(root)) return [];
        var swept = new List<string>();
        var leftovers = Directory.EnumerateDirectories(root)
            .Where(d => Identifiers.IsValid(System.IO.Path.GetFileName(d)) && !IsSymlink(d))
            .SelectMany(d => Directory.EnumerateDirectories(d, ".*.deleting-*"));
        foreach (var leftover in leftovers.Order(StringComparer.Ordinal))
        {
            if (!IsInterruptedDelete(System.IO.Path.GetFileName(leftover)) || IsSymlink(leftover)) continue;
            MountInfo.UnmountAllUnder(leftover);
            try
            {
                Directory.Delete(leftover, recursive: true);
                swept.Add(leftover);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
        return swept;
    }

    /// <summary>Whether a name is <see cref="Delete"/>'s <c>.&lt;id&gt;.deleting-&lt;12 hex&gt;</c>.</summary>
    internal static bool IsInterruptedDelete(string name)
    {
        const string marker = ".deleting-";
        var at = name.LastIndexOf(marker, StringComparison.Ordinal);
        if (!name.StartsWith('.') || at < 1) return false;
        var suffix = name[(at + marker.Length)..];
        return Identifiers.IsValid(name[1..at]) && suffix.Length == 12 && suffix.All(char.IsAsciiHexDigitLower);
    }

    /// <summary>The shim's socket address from the <c>address</c> file the shim's <c>start</c> wrote; null if absent.</summary>
    public string? ReadAddress() => ReadOptional(AddressPath);

    /// <summary>The shim binary's path, remembered like containerd's <c>shim-binary-path</c> so a restart uses the same binary.</summary>
    public string? ReadShimBinaryPath() => ReadOptional(ShimBinaryPathFile);

    public void WriteShimBinaryPath(string shimBinaryPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(shimBinaryPath);
        WriteFileAtomically(ShimBinaryPathFile, shimBinaryPath);
    }

    /// <summary>
    /// Removes the bundle: unmounts anything still mounted in it (the shim normally unmounts <c>rootfs</c>; a killed
    /// shim may not have), renames it to a hidden <c>.&lt;id&gt;.deleting-&lt;random&gt;</c> sibling so that it vanishes
    /// from <see cref="List"/> atomically, then deletes that recursively. Idempotent; also finishes deletes that were
    /// interrupted after the rename.
    /// </summary>
    public void Delete()
    {
        var namespaceDirectory = System.IO.Path.GetDirectoryName(Path)!;
        if (Directory.Exists(Path))
        {
            MountInfo.UnmountAllUnder(Path);
            var doomed = System.IO.Path.Combine(namespaceDirectory,
                $".{Id}.deleting-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}");
            try
            {
                Directory.Move(Path, doomed);
            }
            catch (DirectoryNotFoundException)
            {
                // A concurrent Delete won the rename; its leftovers are swept below.
            }
        }

        if (!Directory.Exists(namespaceDirectory)) return;
        foreach (var leftover in Directory.EnumerateDirectories(namespaceDirectory, $".{Id}.deleting-*"))
        {
            MountInfo.UnmountAllUnder(leftover);
            try
            {
                Directory.Delete(leftover, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }

    public override string ToString() => $"{Namespace}/{Id} ({Path})";

    /// <summary>A small file's trimmed text; null when it (or the bundle) is missing or empty.</summary>
    private static string? ReadOptional(string path)
    {
        try
        {
            var text = File.ReadAllText(path).Trim();
            return text.Length == 0 ? null : text;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private static bool IsSymlink(string path) => new DirectoryInfo(path).LinkTarget is not null;

    private static void WriteFileAtomically(string path, string content)
    {
        var temporary = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(path)!,
            $".{System.IO.Path.GetFileName(path)}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");
        try
        {
            File.WriteAllText(temporary, content, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            Libc.ChmodOrThrow(temporary, PrivateFileMode);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }
}
