using System.Collections.Concurrent;
using ActorRuntime.Configuration;
using ActorRuntime.Events;
using ActorRuntime.Hosting;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Oci;
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
    private readonly ConcurrentDictionary<long, TaskEvent> _events = new();

    private HostedRuntime(IHost host, ContainerRuntime runtime)
    {
        _host = host;
        Runtime = runtime;
    }

    public ContainerRuntime Runtime { get; }

    /// <summary>Every event of the journal seen so far, by offset (a replayed event keeps its offset).</summary>
    public IReadOnlyList<TaskEvent> Events => _events.Values.OrderBy(e => e.Offset).ToList();

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
        await hosted.Runtime.EventBus.Ask<EventBusProtocol.Subscribed>(new EventBusProtocol.SubscribeBackendFrom(0, [], e =>
        {
            hosted._events.TryAdd(e.Offset, e);
            return Task.CompletedTask;
        }), TimeSpan.FromSeconds(10));
        await hosted.Runtime.AwaitLoadedAsync();
        return hosted;
    }

    public Task<uint> CreateAsync(ShimTestEnvironment env, string id, params string[] args)
    {
        var mount = BusyboxImage.BindMount(ShimTestEnvironment.ImageDirectory);
        return Runtime.CreateAsync(id, OciSpec.ConfigJson(env.Namespace, id, new OciContainerSpec(args)),
            [ActorRuntime.Tasks.MountSpec.From(mount)]);
    }

    public async Task EventuallyAsync(Func<IReadOnlyList<TaskEvent>, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition(Events))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{what}; events: " + string.Join(", ", Events.Select(e => $"#{e.Offset} {e.ContainerId}/{e.ExecId}{e.Topic}({e.ExitStatus})")));
            await Task.Delay(50);
        }
    }

    /// <summary>Stops the runtime as a crash would leave things: shims and containers keep running.</summary>
    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
