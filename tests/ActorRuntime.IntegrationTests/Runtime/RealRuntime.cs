using ActorRuntime.Configuration;
using ActorRuntime.Events;
using ActorRuntime.Hosting;
using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using ActorRuntime.Oci;
using ActorRuntime.Testing;
using Akka.Actor;
using Akka.Configuration;

namespace ActorRuntime.IntegrationTests.Runtime;

/// <summary>
/// The whole runtime (EventBus, ShimManager, ContainerRuntime) in one actor system, driving the real shim inside a
/// <see cref="ShimTestEnvironment"/>, with every published task event recorded in order.
/// </summary>
public sealed class RealRuntime : IAsyncDisposable
{
    // Generous: the first runtime of a test run pays for JIT and creating the database, on a machine that may be busy.
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);
    private long _duplicatesBefore;

    private RealRuntime(ShimTestEnvironment env, ActorSystem system, ContainerRuntime runtime)
    {
        Env = env;
        System = system;
        Runtime = runtime;
        Settings = runtime.Settings;
    }

    /// <summary>
    /// Starts the runtime on <paramref name="env"/>. A start that fails takes down the actor system it created before
    /// rethrowing: nobody would dispose a runtime that was never returned.
    /// </summary>
    public static async Task<RealRuntime> StartAsync(ShimTestEnvironment env, Action<ActorRuntimeOptions>? configure = null)
    {
        var options = new ActorRuntimeOptions
        {
            StateDirectory = env.StateDirectory,
            RootDirectory = Path.Combine(env.Root, "root"),
            Namespace = env.Namespace,
            RuncRoot = env.RuncRoot,
        };
        configure?.Invoke(options);
        var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING").WithFallback(RuntimeTopology.Config(options));
        var system = ActorSystem.Create("it-" + env.Namespace, RuntimeTopology.Setup(options, config));
        try
        {
            var rt = new RealRuntime(env, system, RuntimeTopology.Start(system, options));
            await rt.Recorder.SubscribeAsync(rt.Runtime.EventBus, AskTimeout);
            // The bus's counters outlive a restart (they come back with its state), so count from here.
            rt._duplicatesBefore = await rt.DroppedDuplicatesAsync();
            return rt;
        }
        catch
        {
            await system.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
            throw;
        }
    }

    public ShimTestEnvironment Env { get; }
    public ActorSystem System { get; }
    public RuntimeSettings Settings { get; }
    public ContainerRuntime Runtime { get; }

    /// <summary>Every event the bus delivered since this runtime started.</summary>
    public TaskEventRecorder Recorder { get; } = new();

    public IReadOnlyList<TaskEvent> Events => Recorder.Events;

    public IReadOnlyList<TaskEvent> EventsOf(string containerId, string topic) => Recorder.EventsOf(containerId, topic);

    /// <summary>Copies of an event the bus received and dropped as duplicates since this runtime started.</summary>
    public async Task<long> DuplicatesDroppedAsync() => await DroppedDuplicatesAsync() - _duplicatesBefore;

    /// <summary>A busybox container on the shared read-only image; returns the init pid.</summary>
    public Task<uint> CreateAsync(string id, params string[] args) =>
        Runtime.CreateAsync(id, OciSpec.ConfigJson(Env.Namespace, id, new OciContainerSpec(args)),
            [BusyboxImage.BindMount(ShimTestEnvironment.ImageDirectory)]);

    private async Task<long> DroppedDuplicatesAsync() =>
        (await Runtime.EventBus.Ask<EventBusProtocol.EventBusStats>(EventBusProtocol.GetStats.Instance, AskTimeout)).DroppedDuplicates;

    public async ValueTask DisposeAsync()
    {
        await System.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
    }
}
