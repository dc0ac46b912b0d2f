using ActorRuntime.Daemon.Services;
using ActorRuntime.Events;
using ActorRuntime.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.Daemon;

/// <summary>The gRPC server of actorruntimed: Kestrel on the unix socket, HTTP/2 only, with the services we serve.</summary>
internal static class DaemonApi
{
    /// <summary>The largest message received or sent: containerd's 16 MiB.</summary>
    public const int MaxMessageSize = 16 << 20;

    /// <summary>
    /// The server over a started, loaded <paramref name="runtime"/>; it binds <paramref name="address"/> when started
    /// (which must be free: see <see cref="DaemonSocket.Prepare"/>). Methods we do not serve answer UNIMPLEMENTED.
    /// <paramref name="bus"/>: the settings of the runtime's event bus (an event stream's buffer is bounded by its limit).
    /// <paramref name="replay"/>: which event streams first get the events of the runtime's start (none by default).
    /// </summary>
    public static WebApplication Build(ContainerRuntime runtime, string address, string serverUuid, Action<ILoggingBuilder> logging,
        EventBusSettings? bus = null, StartupReplay? replay = null)
    {
        var web = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        logging(web.Logging);
        web.WebHost.UseKestrelCore().ConfigureKestrel(k => k.ListenUnixSocket(address, l => l.Protocols = HttpProtocols.Http2));
        web.Services.AddRouting();
        web.Services.AddGrpc(o =>
        {
            o.Interceptors.Add<GrpcErrors>();
            // containerd's limits both ways (16 MiB, defaults.DefaultMaxRecvMsgSize/SendMsgSize): a larger message is
            // RESOURCE_EXHAUSTED, as there.
            o.MaxReceiveMessageSize = MaxMessageSize;
            o.MaxSendMessageSize = MaxMessageSize;
        });
        web.Services.AddSingleton(bus ?? EventBusSettings.Default);
        web.Services.AddSingleton(runtime);
        web.Services.AddSingleton(replay ?? StartupReplay.None);
        web.Services.AddSingleton(new IntrospectionService(serverUuid));
        web.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, SignalOwnedLifetime>();
        var app = web.Build();
        app.UseRouting();
        app.MapGrpcService<VersionService>();
        app.MapGrpcService<HealthService>();
        app.MapGrpcService<IntrospectionService>();
        app.MapGrpcService<NamespacesService>();
        app.MapGrpcService<ContainersService>();
        app.MapGrpcService<LeasesService>();
        app.MapGrpcService<TasksService>();
        app.MapGrpcService<EventsService>();
        return app;
    }
}
