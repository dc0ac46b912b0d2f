namespace ActorRuntime.Daemon;

/// <summary>
/// The server's UUID (Introspection.Server, shown by <c>ctr version</c>): made once and kept under the root, where
/// containerd keeps its own, so it stays the same across restarts.
/// </summary>
internal static class ServerUuid
{
    public static string RelativePath => Path.Combine("io.containerd.grpc.v1.introspection", "uuid");

    /// <summary>Reads the UUID, or writes a new one first (whole or not at all: written aside, then renamed).</summary>
    public static string LoadOrCreate(string root)
    {
        var path = Path.Combine(root, RelativePath);
        if (File.Exists(path) && Guid.TryParse(File.ReadAllText(path).Trim(), out var kept)) return kept.ToString();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var uuid = Guid.NewGuid().ToString();
        var temp = path + ".tmp";
        File.WriteAllText(temp, uuid);
        File.Move(temp, path, overwrite: true);
        return uuid;
    }
}
