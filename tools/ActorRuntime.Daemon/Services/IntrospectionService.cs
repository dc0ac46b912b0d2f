using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using ActorRuntime.Protocol.Api.Introspection;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Protocol.Types;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace ActorRuntime.Daemon.Services;

/// <summary>
/// containerd.services.introspection.v1.Introspection: the server's UUID (kept under the root) and what we serve, named
/// as containerd names its plugins (type io.containerd.grpc.v1, id version, ...).
/// </summary>
internal sealed class IntrospectionService(string uuid) : Introspection.IntrospectionBase
{
    /// <summary>A plugin as containerd lists it; <paramref name="GrpcService"/> is the gRPC service it serves, if any.</summary>
    public sealed record PluginEntry(string Type, string Id, string? GrpcService);

    public const string GrpcPlugin = "io.containerd.grpc.v1";

    /// <summary>What actorruntimed serves. A service added to the daemon is added here too.</summary>
    public static readonly IReadOnlyList<PluginEntry> Served =
    [
        new(GrpcPlugin, "containers", "containerd.services.containers.v1.Containers"),
        new(GrpcPlugin, "events", "containerd.services.events.v1.Events"),
        new(GrpcPlugin, "healthcheck", "grpc.health.v1.Health"),
        new(GrpcPlugin, "introspection", "containerd.services.introspection.v1.Introspection"),
        new(GrpcPlugin, "leases", "containerd.services.leases.v1.Leases"),
        new(GrpcPlugin, "namespaces", "containerd.services.namespaces.v1.Namespaces"),
        new(GrpcPlugin, "tasks", "containerd.services.tasks.v1.Tasks"),
        new(GrpcPlugin, "version", "containerd.services.version.v1.Version"),
        // The runtime itself: shims (containerd-shim-runc-v2) run the tasks.
        new("io.containerd.runtime.v2", "task", null),
    ];

    public bool ServesGrpc(string service) => Served.Any(p => p.GrpcService == service);

    public override Task<ServerResponse> Server(Empty request, ServerCallContext context) =>
        Task.FromResult(new ServerResponse { Uuid = uuid });

    /// <summary>
    /// containerd's filter syntax over the fields type and id: a filter is conditions joined by ',' (all must hold), each
    /// field==value, field!=value or field~=regex; a plugin is listed when any filter holds (or none is given).
    /// </summary>
    public override Task<PluginsResponse> Plugins(PluginsRequest request, ServerCallContext context)
    {
        var filters = request.Filters.Select(Parse).ToList();
        var response = new PluginsResponse();
        foreach (var plugin in Served.Where(p => filters.Count == 0 || filters.Any(f => f(p))))
        {
            var listed = new Plugin { Type = plugin.Type, Id = plugin.Id };
            if (plugin.Type == "io.containerd.runtime.v2")
                listed.Platforms.Add(new Platform { Os = "linux", Architecture = GoArchitecture() });
            response.Plugins.Add(listed);
        }
        return Task.FromResult(response);
    }

    private static Func<PluginEntry, bool> Parse(string filter)
    {
        var conditions = filter.Split(',', StringSplitOptions.TrimEntries).Select(ParseCondition).ToList();
        return p => conditions.All(c => c(p));
    }

    private static Func<PluginEntry, bool> ParseCondition(string condition)
    {
        foreach (var op in new[] { "==", "!=", "~=" })
        {
            var at = condition.IndexOf(op, StringComparison.Ordinal);
            if (at <= 0) continue;
            var field = condition[..at].Trim();
            var value = condition[(at + op.Length)..].Trim().Trim('"');
            Func<PluginEntry, string> get = field switch
            {
                "type" => p => p.Type,
                "id" => p => p.Id,
                _ => throw new InvalidArgumentException($"filter {condition}: unknown field \"{field}\" (type, id): invalid argument"),
            };
            if (op == "==") return p => get(p) == value;
            if (op == "!=") return p => get(p) != value;
            Regex regex;
            try
            {
                regex = new Regex(value, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
            }
            catch (ArgumentException e)
            {
                throw new InvalidArgumentException($"filter {condition}: bad regular expression: {e.Message}: invalid argument");
            }
            return p => regex.IsMatch(get(p));
        }
        throw new InvalidArgumentException($"filter \"{condition}\": expected field==value, field!=value or field~=regex: invalid argument");
    }

    // GOARCH names, as containerd reports platforms.
    private static string GoArchitecture() => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        Architecture.Arm => "arm",
        Architecture.X86 => "386",
        var other => other.ToString().ToLowerInvariant(),
    };
}
