using System.Runtime.InteropServices;
using ActorRuntime.Cluster;
using ActorRuntime.Configuration;
using ActorRuntime.Daemon;
using ActorRuntime.Daemon.Services;
using ActorRuntime.Events;
using ActorRuntime.Hosting;
using ActorRuntime.Store;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// actorruntimed: the runtime behind containerd's gRPC API on a unix socket. Foreground; logs go to stderr.
if (args is ["--help"] or ["-h"])
{
    Console.WriteLine(DaemonCommandLine.Usage);
    return 0;
}
DaemonCommandLine flags;
ActorRuntimeOptions options;
ClusterRuntimeOptions cluster;
Config fileConfig;
try
{
    flags = DaemonCommandLine.Parse(args);
    fileConfig = flags.ConfigFile is { } file ? ConfigurationFactory.ParseString(File.ReadAllText(file)) : Config.Empty;
    options = Resolve(flags, fileConfig);
    cluster = ResolveCluster(flags, fileConfig, options);
}
catch (Exception e) when (e is ArgumentException or FormatException or ConfigurationException or IOException
                              or InvalidOperationException or ActorRuntime.Protocol.Ttrpc.TtrpcException)
{
    Console.Error.WriteLine($"actorruntimed: {e.Message}\n{DaemonCommandLine.Usage}");
    return 2;
}

var logLevel = Enum.Parse<LogLevel>(flags.LogLevel);
void Logging(ILoggingBuilder l) =>
    l.ClearProviders().AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(logLevel)
        // Kestrel's and gRPC's per-request lines drown the runtime's at Information.
        .AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
using var bootLoggers = LoggerFactory.Create(Logging);
var log = bootLoggers.CreateLogger("actorruntimed");

RootLock rootLock;
try
{
    rootLock = RootLock.Acquire(options.RootDirectory!);
}
catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
{
    log.LogCritical("{Message}", e.Message);
    return 1;
}
using var _ = rootLock;

// The address is checked before the runtime starts: the runtime binds <address>.ttrpc, which must not be taken from a
// daemon that still serves there. A stale socket goes now; Kestrel binds the path once the runtime has reloaded.
var address = options.Address!;
try
{
    DaemonSocket.Prepare(address);
}
catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
{
    log.LogCritical("cannot serve on {Address}: {Message}", address, e.Message);
    return 1;
}

// SIGTERM and SIGINT stop the daemon; the runtime's shims and containers keep running, as with containerd.
var stopping = new TaskCompletionSource<PosixSignal>(TaskCreationOptions.RunContinuationsAsynchronously);
using var stoppingToken = new CancellationTokenSource();
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

// A node that finds itself downed by the cluster while alive (frozen, or cut off, past the split-brain resolver's decision)
// has its actor system shut down by Akka: actorruntimed starts again in place (SelfExec), as a restarted daemon (it
// rejoins, is fenced if it was given up meanwhile, reloads its shims). A signal ends the daemon.
var (exitCode, downed) = await ServeAsync();
if (downed && !stopping.Task.IsCompleted)
{
    log.LogWarning("this node was downed by the cluster: actorruntimed starts again");
    // A moment's pause keeps a node the cluster keeps refusing from spinning; a stop asked meanwhile is a stop.
    await Task.WhenAny(stopping.Task, Task.Delay(TimeSpan.FromSeconds(1)));
    if (stopping.Task.IsCompleted) return 0;
    bootLoggers.Dispose(); // the console logger writes from a queue: flushed before the image is replaced
    rootLock.Dispose();
    Console.Error.WriteLine($"actorruntimed: cannot start again: {SelfExec.Restart()}");
    return 1;
}
return exitCode;

// The runtime, the one way it starts, in a host of its own: the socket is bound by a second host only once the runtime
// has reloaded, so no client is accepted and then dropped while it starts. Serves until a signal, or until the cluster
// downs this node (Downed).
async Task<(int Code, bool Downed)> ServeAsync()
{
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
    Logging(builder.Logging);
    builder.Services.AddAkka("actorruntimed", (akka, _) =>
    {
        akka.WithHostLogging(logLevel);
        // The --config file goes between the options (prepended by WithActorRuntime) and the shipped defaults (appended after it).
        akka.AddHocon(fileConfig, HoconAddMode.Append);
        // Akka would start its coordinated shutdown on SIGTERM by itself, beside ours: the runtime must stop after the server.
        akka.AddHocon("akka.coordinated-shutdown.run-by-clr-shutdown-hook = off", HoconAddMode.Prepend);
        akka.WithActorRuntime(options);
        akka.WithCluster(cluster);
    });
    builder.Services.AddContainerRuntime();
    builder.Services.AddSingleton<IHostLifetime, SignalOwnedLifetime>();
    using var runtimeHost = builder.Build();
    await runtimeHost.StartAsync();
    var system = runtimeHost.Services.GetRequiredService<ActorSystem>();
    var runtime = runtimeHost.Services.GetRequiredService<ContainerRuntime>();
    // Ended without our asking, for the cluster's reasons: it downed this node (or quarantined it: QuarantineWatch ends the
    // system as a downing), or this node left it or could not join. Anything else is not restarted.
    bool Downed()
    {
        if (!system.WhenTerminated.IsCompleted || stopping.Task.IsCompleted) return false;
        var reason = CoordinatedShutdown.Get(system).ShutdownReason;
        log.LogWarning("the actor system ended on its own ({Reason})", reason?.ToString() ?? "no reason given");
        return reason is CoordinatedShutdown.ClusterDowningReason or CoordinatedShutdown.ClusterLeavingReason
            or CoordinatedShutdown.ClusterJoinUnsuccessfulReason;
    }
    try
    {
        // In cluster mode the load waits for the cluster to admit this node, unbounded: the actor system's end (downed,
        // or no join within restart-after-unsuccessful-join) ends the wait too.
        var loading = runtime.AwaitLoadedAsync(stoppingToken.Token);
        if (await Task.WhenAny(loading, system.WhenTerminated) != loading)
            throw new InvalidOperationException("the actor system ended before the runtime loaded");
        var loaded = await loading;
        log.LogInformation("runtime loaded: {Reloaded} shims reloaded, {CleanedUp} cleaned up", loaded.Reloaded, loaded.CleanedUp);
    }
    catch (Exception e)
    {
        var downed = Downed();
        if (!stopping.Task.IsCompleted && !downed) log.LogCritical(e, "the runtime's reload did not complete");
        await runtimeHost.StopAsync();
        return (stopping.Task.IsCompleted || downed ? 0 : 1, downed);
    }

    var code = 0;
    try
    {
        var bus = EventBusSettings.Create(system.Settings.Config);
        // The exits the reload published went out before anyone could subscribe: early streams get them (StartupReplay).
        var started = await runtime.EventBus.Ask<EventBusProtocol.EventBusStats>(EventBusProtocol.GetStats.Instance, runtime.Settings.CallTimeout);
        var replay = new StartupReplay(started.StartOffset, bus.StartupReplayWindow, TimeProvider.System);
        await using var app = DaemonApi.Build(runtime, address, ServerUuid.LoadOrCreate(runtime.Settings.RootDirectory), Logging, bus, replay);
        await app.StartAsync();
        replay.Serving();
        DaemonSocket.SetAccess(address, flags.Group);
        log.LogInformation("actorruntimed {Version} serving on {Address} (root {Root}, state {State})", VersionService.Current, address,
            runtime.Settings.RootDirectory, runtime.Settings.StateDirectory);
        await Task.WhenAny(stopping.Task, system.WhenTerminated);
        if (stopping.Task.IsCompleted) log.LogInformation("{Signal}: stopping", await stopping.Task);
        await app.StopAsync();
    }
    catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
    {
        log.LogCritical(e, "cannot serve on {Address}", address);
        code = 1;
    }
    finally
    {
        // Kestrel removes its socket when it stops; should it not have, the path is still ours. After a failed bind it is not.
        if (File.Exists(address) && code == 0) File.Delete(address);
        await runtimeHost.StopAsync();
    }
    return (code, code == 0 && Downed());
}

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    if (stopping.TrySetResult(context.Signal)) stoppingToken.Cancel();
}

// Flags over the --config file over the defaults, resolved to options: what the runtime is started with, and what the
// lock and socket are placed by. Persistence is resolved the same way so a file's provider or connection string holds.
static ActorRuntimeOptions Resolve(DaemonCommandLine flags, Config file)
{
    var given = flags.ToRuntimeOptions();
    var config = ConfigurationFactory.ParseString(given.ToHocon()).WithFallback(file);
    var settings = RuntimeSettings.Create(config);
    var persistence = PersistenceSettings.Create(config);
    given.RootDirectory = settings.RootDirectory;
    given.StateDirectory = settings.StateDirectory;
    given.Address = settings.Address;
    given.Persistence = new PersistenceOptions
    {
        Provider = persistence.Provider,
        ConnectionString = persistence.ConnectionString,
        SqliteSynchronous = persistence.Synchronous,
    };
    return given;
}

// The cluster flags over the --config file over the defaults, resolved to options; cluster mode on SQLite is refused
// here already (the runtime's start refuses it too), before the lock or the socket are touched.
static ClusterRuntimeOptions ResolveCluster(DaemonCommandLine flags, Config file, ActorRuntimeOptions options)
{
    var settings = ClusterSettings.Create(ConfigurationFactory.ParseString(flags.ToClusterOptions().ToHocon()).WithFallback(file));
    settings.EnsurePersistence(ActorRuntimePersistence.Resolve(options.Persistence, options));
    return new ClusterRuntimeOptions
    {
        SeedNodes = settings.SeedNodes,
        NodeName = settings.NodeName,
        Host = settings.Host,
        Port = settings.Port,
        SplitBrainStrategy = settings.SplitBrainStrategy,
        StableAfter = settings.StableAfter,
        DownRemovalMargin = settings.DownRemovalMargin,
        NodeLostGracePeriod = settings.NodeLostGracePeriod,
        RestartAfterUnsuccessfulJoin = settings.RestartAfterUnsuccessfulJoin,
    };
}
