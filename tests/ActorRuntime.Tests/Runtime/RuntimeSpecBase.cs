using System.Collections.Concurrent;
using System.Diagnostics;
using ActorRuntime.Configuration;
using ActorRuntime.Events;
using ActorRuntime.Hosting;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using ActorRuntime.TestKit;
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

    private readonly ConcurrentQueue<TaskEvent> _events = new();
    private string _subscriptionId = "";
    private int _incarnation;

    protected RuntimeSpecBase(ITestOutputHelper output, Action<ActorRuntimeOptions>? configure = null)
        : this(NewOptions(configure), output)
    {
    }

    private RuntimeSpecBase(ActorRuntimeOptions options, ITestOutputHelper output)
        : base(ConfigurationFactory.ParseString("akka.loglevel = INFO").WithFallback(RuntimeTopology.Config(options)), output: output)
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

    /// <summary>The running runtime; replaced by <see cref="StartRuntimeAsync"/> after <see cref="StopRuntimeAsync"/>.</summary>
    protected ContainerRuntime Runtime { get; private set; }

    /// <summary>Receives every <see cref="ShimManagerProtocol.DeadShimCleaned"/> of the system's event stream.</summary>
    protected TestProbe Cleaned { get; }

    protected IReadOnlyList<TaskEvent> Events => _events.ToList();

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

    public async Task InitializeAsync()
    {
        await SubscribeRecorderAsync();
        await Runtime.AwaitLoadedAsync().WaitAsync(Bound);
    }

    private async Task SubscribeRecorderAsync()
    {
        var recorder = Sys.ActorOf(Props.Create(() => new Recorder(_events)));
        var subscribed = await Bus.Ask<EventBusProtocol.Subscribed>(new EventBusProtocol.Subscribe([], recorder), Bound);
        _subscriptionId = subscribed.SubscriptionId;
    }

    public async Task DisposeAsync()
    {
        await Sys.Terminate().WaitAsync(Bound);
        await Launcher.DisposeAsync();
        if (Directory.Exists(Settings.StateDirectory)) Directory.Delete(Settings.StateDirectory, recursive: true);
    }

    /// <summary>Acks every event at once and records it.</summary>
    private sealed class Recorder : ReceiveActor
    {
        public Recorder(ConcurrentQueue<TaskEvent> events) =>
            Receive<TaskEvent>(e =>
            {
                events.Enqueue(e);
                Sender.Tell(new EventBusProtocol.Ack(e.Offset));
            });
    }

    // ---- helpers ----

    protected IReadOnlyList<TaskEvent> EventsOf(string containerId, string topic, string? execId = "") =>
        Events.Where(e => e.ContainerId == containerId && e.Topic == topic && (execId is null || e.ExecId == execId)).ToList();

    /// <summary>Waits until the bus has processed everything sent to it so far and the recorder has acked it all.</summary>
    protected async Task SettleAsync()
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var stats = await Bus.Ask<EventBusProtocol.EventBusStats>(EventBusProtocol.GetStats.Instance, Bound);
            // Subscribed before anything was published: every delivered offset must reach the recorder.
            if (_events.Count >= stats.LastOffset && stats[_subscriptionId] is not null) return;
            if (sw.Elapsed > Bound) throw new TimeoutException("event bus did not settle");
            await Task.Delay(20);
        }
    }

    /// <summary>Settles, gives late publishers (a task's Wait, a re-sent forward) a moment, and settles again.</summary>
    protected async Task QuietAsync(int millis = 300)
    {
        await SettleAsync();
        await Task.Delay(millis);
        await SettleAsync();
    }

    protected static async Task EventuallyAsync(Func<bool> condition, string what, TimeSpan? within = null)
    {
        var limit = within ?? Bound;
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > limit) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(10);
        }
    }

    protected static async Task EventuallyAsync(Func<Task<bool>> condition, string what, TimeSpan? within = null)
    {
        var limit = within ?? Bound;
        var sw = Stopwatch.StartNew();
        while (!await condition())
        {
            if (sw.Elapsed > limit) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(10);
        }
    }

    protected Task WaitForEventAsync(string containerId, string topic, string execId = "") =>
        EventuallyAsync(() => EventsOf(containerId, topic, execId).Count > 0, $"{topic} of {containerId}/{execId}");

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
