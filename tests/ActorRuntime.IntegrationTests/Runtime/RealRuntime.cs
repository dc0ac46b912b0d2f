using System.Collections.Concurrent;
using ActorRuntime.Configuration;
using ActorRuntime.Events;
using ActorRuntime.Hosting;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Oci;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Akka.Configuration;

namespace ActorRuntime.IntegrationTests.Runtime;

/// <summary>
/// The whole runtime (EventBus, ShimManager, ContainerRuntime) in one actor system, driving the real shim inside a
/// <see cref="ShimTestEnvironment"/>, with every published task event recorded in order.
/// </summary>
public sealed class RealRuntime : IAsyncDisposable
{
    private readonly ConcurrentQueue<TaskEvent> _events = new();

    public RealRuntime(ShimTestEnvironment env, Action<ActorRuntimeOptions>? configure = null)
    {
        Env = env;
        var options = new ActorRuntimeOptions
        {
            StateDirectory = env.StateDirectory,
            RootDirectory = Path.Combine(env.Root, "root"),
            Namespace = env.Namespace,
            RuncRoot = env.RuncRoot,
        };
        configure?.Invoke(options);
        var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING").WithFallback(RuntimeTopology.Config(options));
        System = ActorSystem.Create("it-" + env.Namespace, config);
        Runtime = RuntimeTopology.Start(System, options);
        Settings = Runtime.Settings;
        Runtime.EventBus.Ask<EventBusProtocol.Subscribed>(new EventBusProtocol.SubscribeBackend([], e =>
        {
            _events.Enqueue(e);
            return Task.CompletedTask;
        }), TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
    }

    public ShimTestEnvironment Env { get; }
    public ActorSystem System { get; }
    public RuntimeSettings Settings { get; }
    public ContainerRuntime Runtime { get; }
    public IReadOnlyList<TaskEvent> Events => _events.ToArray();

    public IReadOnlyList<TaskEvent> EventsOf(string containerId, string topic) =>
        Events.Where(e => e.ContainerId == containerId && e.Topic == topic).ToList();

    /// <summary>A busybox container on the shared read-only image; returns the init pid.</summary>
    public Task<uint> CreateAsync(string id, params string[] args) =>
        Runtime.CreateAsync(id, OciSpec.ConfigJson(Env.Namespace, id, new OciContainerSpec(args)),
            [MountSpec.From(BusyboxImage.BindMount(ShimTestEnvironment.ImageDirectory))]);

    /// <summary>Waits until <paramref name="condition"/> holds for the recorded events, or fails.</summary>
    public async Task EventuallyAsync(Func<IReadOnlyList<TaskEvent>, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition(Events))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{what} not seen within {timeout}; events: " +
                    string.Join(", ", Events.Select(e => $"{e.ContainerId}{e.Topic}({e.ExitStatus})")));
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await System.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
    }
}
