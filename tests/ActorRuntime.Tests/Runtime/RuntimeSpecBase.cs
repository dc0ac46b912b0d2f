using ActorRuntime.Configuration;
using ActorRuntime.Events;
using ActorRuntime.Hosting;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using ActorRuntime.TestKit;
using ActorRuntime.Testing;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Runtime;

/// <summary>
/// One actor system per test with an EventBus, a ShimManager over a <see cref="FakeShimLauncher"/>, a
/// <see cref="ContainerRuntime"/> over them, a fresh state directory under /run/actorruntime-test, and a recorder of
/// everything the bus delivers. Everything is removed again in <see cref="DisposeAsync"/>.
/// </summary>
public abstract class RuntimeSpecBase : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    protected const string Spec = "{}";
    protected static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private readonly TaskEventRecorder _recorder = new();
    private int _incarnation;

    protected RuntimeSpecBase(ITestOutputHelper output, Action<ActorRuntimeOptions>? configure = null)
        : this(NewOptions(configure), output)
    {
    }

    /// <summary>With <paramref name="hocon"/> laid over the runtime's configuration (e.g. <see cref="GatedJournal.Hocon"/>).</summary>
    protected RuntimeSpecBase(ITestOutputHelper output, string hocon, Action<ActorRuntimeOptions>? configure = null)
        : this(NewOptions(configure), output, hocon)
    {
    }

    private RuntimeSpecBase(ActorRuntimeOptions options, ITestOutputHelper output, string hocon = "")
        : base(RuntimeTopology.Setup(options,
                ConfigurationFactory.ParseString("akka.loglevel = INFO\n" + hocon).WithFallback(RuntimeTopology.Config(options))),
            output: output)
    {
        Options = options;
        Options.ShimLauncher = Launcher.For;
        Runtime = RuntimeTopology.Start(Sys, Options);
        Cleaned = CreateTestProbe();
        Sys.EventStream.Subscribe(Cleaned, typeof(ShimManagerProtocol.DeadShimCleaned));
    }

    protected ActorRuntimeOptions Options { get; }
    protected RuntimeSettings Settings => Runtime.Settings;
    protected FakeShimLauncher Launcher { get; } = new();
    protected IActorRef Bus => Runtime.EventBus;
    protected IActorRef Manager => Runtime.ShimManager;

    /// <summary>A task command as the manager takes it, in the runtime's default namespace.</summary>
    protected TaskProtocol.InNamespace InDefault(IWithContainerId command) => new(Runtime.Namespace, command);

    /// <summary>The running runtime; replaced by <see cref="StartRuntimeAsync"/> after <see cref="StopRuntimeAsync"/>.</summary>
    protected ContainerRuntime Runtime { get; private set; }

    /// <summary>Receives every <see cref="ShimManagerProtocol.DeadShimCleaned"/> of the system's event stream.</summary>
    protected TestProbe Cleaned { get; }

    protected IReadOnlyList<TaskEvent> Events => _recorder.Events;

    /// <summary>Options of a spec's runtime: a fresh state directory, short timeouts, the in-memory journal.</summary>
    protected static ActorRuntimeOptions NewOptions(Action<ActorRuntimeOptions>? configure = null)
    {
        var options = new ActorRuntimeOptions
        {
            StateDirectory = Path.Combine("/run/actorruntime-test", Guid.NewGuid().ToString("N")[..12]),
            Namespace = "spec",
            LoadTimeout = TimeSpan.FromSeconds(2),
            CleanupTimeout = TimeSpan.FromSeconds(2),
            ShutdownTimeout = TimeSpan.FromSeconds(1),
            CallTimeout = TimeSpan.FromSeconds(1),
            Persistence = new PersistenceOptions { Provider = PersistenceProvider.InMemory },
        };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>Stops the runtime as a crash would (shims keep running); the journal stays, as a database would.</summary>
    protected async Task StopRuntimeAsync()
    {
        await SettleAsync();
        await Runtime.StopAsync(Bound);
    }

    /// <summary>Starts the runtime again over the same state directory and journal, as a restarted process would.</summary>
    protected async Task<ContainerRuntime> StartRuntimeAsync()
    {
        Runtime = RuntimeTopology.Start(Sys, Options, prefix: $"restart-{++_incarnation}-");
        await SubscribeRecorderAsync();
        return Runtime;
    }

    protected string BundlePath(string id) => Path.Combine(Settings.StateDirectory, Settings.Namespace, id);

    /// <summary>The persistence id the bus journals under (for journal faults aimed at it).</summary>
    protected string BusId => EventBusSettings.Create(Sys.Settings.Config).PersistenceId;

    /// <summary>The bus's counters now (tracked runs, drops, subscriptions).</summary>
    protected Task<EventBusProtocol.EventBusStats> BusStatsAsync() =>
        Bus.Ask<EventBusProtocol.EventBusStats>(EventBusProtocol.GetStats.Instance, Bound);

    /// <summary>Every process record the store holds now.</summary>
    protected async Task<IReadOnlyList<ProcessRecord>> RecordsAsync() =>
        (await Runtime.Actors.Processes.Ask<ProcessStoreProtocol.All>(new ProcessStoreProtocol.GetAll(), Bound)).Tasks;

    public async Task InitializeAsync()
    {
        await SubscribeRecorderAsync();
        await Runtime.AwaitLoadedAsync().WaitAsync(Bound);
    }

    private Task SubscribeRecorderAsync() => _recorder.SubscribeAsync(Bus, Bound);

    public async Task DisposeAsync()
    {
        await Sys.Terminate().WaitAsync(Bound);
        await Launcher.DisposeAsync();
        if (Directory.Exists(Settings.StateDirectory)) Directory.Delete(Settings.StateDirectory, recursive: true);
    }

    // ---- helpers ----

    protected IReadOnlyList<TaskEvent> EventsOf(string containerId, string topic, string? execId = "") =>
        _recorder.EventsOf(containerId, topic, execId);

    /// <summary>Waits until the bus has processed everything sent to it so far and the recorder has received it all.</summary>
    protected Task SettleAsync() =>
        EventuallyAsync(async () =>
        {
            var stats = await BusStatsAsync();
            // Subscribed before anything was published (or again after a restart): everything handed over is handled,
            // the last event included. (Not a count: an offset whose write the journal rejected is never delivered.)
            return stats[_recorder.SubscriptionId] is { Pending: 0 } s && (s.Enqueued == 0 || s.LastCompletedOffset >= stats.LastOffset);
        }, "the event bus to settle", Bound, _recorder.ToString);

    /// <summary>Settles, gives late publishers (a task's Wait, a re-sent forward) a moment, and settles again.</summary>
    protected async Task QuietAsync(int millis = 300)
    {
        await SettleAsync();
        await Task.Delay(millis);
        await SettleAsync();
    }

    protected Task WaitForEventAsync(string containerId, string topic, string execId = "") =>
        EventuallyAsync(() => EventsOf(containerId, topic, execId).Count > 0, $"{topic} of {containerId}/{execId}", Bound,
            _recorder.ToString);

    protected async Task<ShimManagerProtocol.DeadShimCleaned> ExpectCleanedAsync(string containerId)
    {
        var cleaned = await Cleaned.ExpectMsgAsync<ShimManagerProtocol.DeadShimCleaned>(Bound);
        Assert.Equal(containerId, cleaned.ContainerId);
        return cleaned;
    }

    /// <summary>Create and start a container on a fake shim; returns the init pid.</summary>
    protected async Task<uint> RunAsync(string id)
    {
        var created = await Runtime.CreateAsync(id, Spec, []);
        var started = await Runtime.StartAsync(id);
        Assert.Equal(created, started);
        return started;
    }

    protected static int CallsOf(FakeShim shim, string method) => shim.Calls.GetValueOrDefault(method);
}
