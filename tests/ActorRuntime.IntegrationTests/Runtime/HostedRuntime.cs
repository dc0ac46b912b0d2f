using ActorRuntime.Configuration;
using ActorRuntime.Events;
using ActorRuntime.Hosting;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Oci;
using ActorRuntime.Testing;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.IntegrationTests.Runtime;

/// <summary>
/// The runtime as a .NET host embeds it (Akka.Hosting, WithActorRuntime, default SQLite store under the root
/// directory) over a <see cref="ShimTestEnvironment"/>; records every journaled event from offset 0.
/// </summary>
public sealed class HostedRuntime : IAsyncDisposable
{
    private readonly IHost _host;

    private HostedRuntime(IHost host, ContainerRuntime runtime)
    {
        _host = host;
        Runtime = runtime;
    }

    public ContainerRuntime Runtime { get; }

    /// <summary>Every event of the journal, replayed from offset 0 when this host started, then live.</summary>
    public TaskEventRecorder Recorder { get; } = new();

    public IReadOnlyList<TaskEvent> Events => Recorder.Events;

    public static async Task<HostedRuntime> StartAsync(ShimTestEnvironment env)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Services.AddAkka("hosted-" + env.Namespace, (akka, _) => akka.WithActorRuntime(o =>
        {
            o.StateDirectory = env.StateDirectory;
            o.RootDirectory = Path.Combine(env.Root, "root");
            o.Namespace = env.Namespace;
            o.RuncRoot = env.RuncRoot;
        }));
        builder.Services.AddContainerRuntime();
        var host = builder.Build();
        await host.StartAsync();
        var hosted = new HostedRuntime(host, host.Services.GetRequiredService<ContainerRuntime>());
        await hosted.Recorder.SubscribeAsync(hosted.Runtime.EventBus, TimeSpan.FromSeconds(10), afterOffset: 0);
        await hosted.Runtime.AwaitLoadedAsync();
        return hosted;
    }

    public Task<uint> CreateAsync(ShimTestEnvironment env, string id, params string[] args) =>
        Runtime.CreateAsync(id, OciSpec.ConfigJson(env.Namespace, id, new OciContainerSpec(args)),
            [BusyboxImage.BindMount(ShimTestEnvironment.ImageDirectory)]);

    /// <summary>Stops the runtime as a crash would leave things: shims and containers keep running.</summary>
    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
