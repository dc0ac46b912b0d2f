using System.Text.Json;
using System.Text.Json.Nodes;
using ActorRuntime.Client;
using ActorRuntime.Oci;
using ActorRuntime.Protocol.Ttrpc;

namespace ActorRuntime.Cli;

/// <summary>What run and exec say about the process: its command, terminal, environment, directory and user.</summary>
internal sealed record ProcessArguments(
    IReadOnlyList<string> Command,
    bool Terminal = false,
    IReadOnlyList<string>? Env = null,
    string? Cwd = null,
    string? User = null);

/// <summary>What `run` says about the container besides its process.</summary>
/// <param name="Rootfs">a root filesystem directory (default: the busybox image)</param>
/// <param name="Bundle">an OCI bundle directory: its config.json is the spec, its root.path the rootfs</param>
internal sealed record RunArguments(
    string Id,
    ProcessArguments Process,
    IReadOnlyList<string>? Labels = null,
    string? Rootfs = null,
    string? Bundle = null);

/// <summary>The container `run` records and the rootfs directory the shim bind-mounts for it.</summary>
internal sealed record RunPlan(NewContainer Container, string RootfsDirectory);

/// <summary>
/// From arctl's arguments to OCI documents, the way ctr builds them: a default spec (or a bundle's config.json) with
/// the process's args, terminal (TERM=xterm), env, cwd and user applied; exec starts from the container's own process.
/// Bad input is InvalidArgument with the flag named.
/// </summary>
internal static class ProcessSpecs
{
    public const string TermVariable = "TERM=xterm";

    /// <summary>The shell `run` and `exec` start when given no command.</summary>
    public static readonly IReadOnlyList<string> DefaultCommand = ["sh"];

    public static RunPlan Plan(string ns, RunArguments run, string busyboxRootfs, Func<string, string> readFile)
    {
        if (run.Rootfs is not null && run.Bundle is not null)
            throw new InvalidArgumentException("give --rootfs or a --bundle, not both");
        var labels = ParsePairs(run.Labels, "--label");

        JsonObject spec;
        string rootfs;
        if (run.Bundle is { } bundle)
        {
            var configPath = Path.Combine(bundle, "config.json");
            string config;
            try
            {
                config = readFile(configPath);
            }
            catch (IOException e)
            {
                throw new InvalidArgumentException($"--bundle {bundle}: cannot read config.json: {e.Message}");
            }
            spec = ParseObject(config, configPath);
            var rootPath = spec["root"]?["path"]?.GetValue<string>() ?? "rootfs";
            rootfs = Path.GetFullPath(Path.Combine(bundle, rootPath));
            // The shim mounts the rootfs onto <its bundle>/rootfs, which is where the spec must point.
            spec["root"]!["path"] = "rootfs";
        }
        else
        {
            spec = ParseObject(OciSpec.ConfigJson(ns, run.Id,
                new OciContainerSpec(run.Process.Command.Count > 0 ? run.Process.Command : DefaultCommand)), "the default spec");
            rootfs = Path.GetFullPath(run.Rootfs ?? busyboxRootfs);
        }
        var process = spec["process"] as JsonObject
            ?? throw new InvalidArgumentException("the bundle's config.json has no process");
        Apply(process, run.Process);
        return new RunPlan(
            new NewContainer(run.Id, spec.ToJsonString(), Labels: labels),
            rootfs);
    }

    /// <summary>An exec's process: the container's process (env, cwd, user, capabilities) with the exec's arguments.</summary>
    public static string ExecProcessJson(string containerSpecJson, ProcessArguments exec)
    {
        var spec = ParseObject(containerSpecJson, "the container's spec");
        var process = (spec["process"] as JsonObject)?.DeepClone() as JsonObject
            ?? throw new FailedPreconditionException("the container's spec has no process to exec from");
        Apply(process, exec with { Command = exec.Command.Count > 0 ? exec.Command : DefaultCommand });
        return process.ToJsonString();
    }

    public static Dictionary<string, string> ParsePairs(IReadOnlyList<string>? pairs, string flag)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs ?? [])
        {
            var eq = pair.IndexOf('=');
            if (eq <= 0) throw new InvalidArgumentException($"{flag} takes KEY=VALUE, got \"{pair}\"");
            result[pair[..eq]] = pair[(eq + 1)..];
        }
        return result;
    }

    /// <summary>--user UID[:GID], numeric (there is no image passwd file to look names up in).</summary>
    public static (uint Uid, uint Gid) ParseUser(string user)
    {
        var parts = user.Split(':');
        if (parts.Length is 1 or 2 && uint.TryParse(parts[0], out var uid))
        {
            if (parts.Length == 1) return (uid, 0);
            if (uint.TryParse(parts[1], out var gid)) return (uid, gid);
        }
        throw new InvalidArgumentException($"--user takes a numeric UID[:GID], got \"{user}\"");
    }

    private static void Apply(JsonObject process, ProcessArguments arguments)
    {
        if (arguments.Command.Count > 0)
            process["args"] = new JsonArray(arguments.Command.Select(a => (JsonNode)JsonValue.Create(a)!).ToArray());
        process["terminal"] = arguments.Terminal;

        var env = (process["env"] as JsonArray)?.Select(n => n!.GetValue<string>()).ToList() ?? [];
        var overrides = ParsePairs(arguments.Env, "--env").Select(p => $"{p.Key}={p.Value}").ToList();
        if (arguments.Terminal && !env.Concat(overrides).Any(e => e.StartsWith("TERM=", StringComparison.Ordinal)))
            overrides.Insert(0, TermVariable);
        foreach (var entry in overrides)
        {
            var key = entry[..(entry.IndexOf('=') + 1)];
            env.RemoveAll(e => e.StartsWith(key, StringComparison.Ordinal));
            env.Add(entry);
        }
        process["env"] = new JsonArray(env.Select(e => (JsonNode)JsonValue.Create(e)!).ToArray());

        if (arguments.Cwd is { } cwd)
        {
            if (!cwd.StartsWith('/')) throw new InvalidArgumentException($"--cwd must be an absolute path, got \"{cwd}\"");
            process["cwd"] = cwd;
        }
        if (arguments.User is { } user)
        {
            var (uid, gid) = ParseUser(user);
            process["user"] = new JsonObject { ["uid"] = uid, ["gid"] = gid };
        }
    }

    private static JsonObject ParseObject(string json, string what)
    {
        try
        {
            return JsonNode.Parse(json) as JsonObject ?? throw new InvalidArgumentException($"{what} is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidArgumentException($"{what} is not valid JSON: {e.Message}");
        }
    }
}
