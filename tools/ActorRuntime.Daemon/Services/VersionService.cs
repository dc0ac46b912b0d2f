using System.Reflection;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Api.Version;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace ActorRuntime.Daemon.Services;

/// <summary>containerd.services.version.v1.Version: our informational version (what `ctr version` shows as the server's).</summary>
internal sealed class VersionService : Protocol.Api.Version.Version.VersionBase
{
    /// <summary>No git at build time: a constant that says so, and by which our client tells actorruntimed from containerd.</summary>
    public const string Revision = EventOffsets.ServerRevision;

    public static readonly string Current = typeof(VersionService).Assembly
        .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    private static readonly VersionResponse Response = new() { Version = Current, Revision = Revision };

    public override Task<VersionResponse> Version(Empty request, ServerCallContext context) => Task.FromResult(Response);
}
