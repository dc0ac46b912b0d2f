using System.Diagnostics;
using System.Text.Json.Nodes;
using ActorRuntime.Diagnostics;
using ActorRuntime.Host;
using ActorRuntime.Hosting;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// actorruntime-host: the runtime in its own process. stdout carries only protocol lines; logs go to stderr.
var processStarted = Process.GetCurrentProcess().StartTime.ToUniversalTime();
StartupTrace.Mark("main");
HostCommandLine options;
try
{
    options = HostCommandLine.Parse(args, Environment.GetEnvironmentVariable(HostCommandLine.FailPointsVariable));
    // An unknown name is bad input, refused here rather than when the runtime starts.
    _ = new ActorRuntime.Diagnostics.FailPoints(options.FailPoints);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine($"actorruntime-host: {e.Message}\n{HostCommandLine.Usage}");
    return 2;
}

var output = new LineWriter(Console.OpenStandardOutput());
var feed = new EventFeed(options.StreamEvents ? output.Write : null);
var runtimeOptions = options.ToRuntimeOptions();
var logLevel = Enum.Parse<LogLevel>(options.LogLevel, ignoreCase: true);

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
builder.Logging.ClearProviders();
builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Logging.SetMinimumLevel(logLevel);
using var bootLoggers = LoggerFactory.Create(l => l.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
builder.Services.AddAkka("actorruntime-host", (akka, _) =>
{
    akka.WithHostLogging(logLevel);
    PersistenceSeam.Configure(options, runtimeOptions, akka, bootLoggers.CreateLogger("actorruntime-host"));
    akka.WithActorRuntime(runtimeOptions);
    // Runs right after the runtime's actors are created, before the ShimManager's reload can publish anything
    // (its shim deletes and ttrpc round trips take milliseconds; this is one enqueue).
    akka.WithActors((_, registry) => feed.SubscribeNow(registry.Get<EventBusKey>()));
});
builder.Services.AddContainerRuntime();
using var host = builder.Build();
StartupTrace.Mark("host built");

var log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("actorruntime-host");
var started = Stopwatch.StartNew();
await host.StartAsync();
var hostStartMs = started.Elapsed.TotalMilliseconds;
StartupTrace.Mark("host started");
var runtime = host.Services.GetRequiredService<ContainerRuntime>();
var loadWatch = Stopwatch.StartNew();
ActorRuntime.Shims.ShimManagerProtocol.Loaded loaded;
try
{
    loaded = await runtime.AwaitLoadedAsync();
}
catch (Exception e)
{
    log.LogError(e, "reload did not complete");
    output.Write(new JsonObject { ["ready"] = false, ["error"] = e.Message });
    await host.StopAsync();
    return 1;
}
var loadMs = loadWatch.Elapsed.TotalMilliseconds;
StartupTrace.Mark("loaded");
var handler = new RequestHandler(runtime, feed, loaded, loadMs);
output.Write(new JsonObject
{
    ["ready"] = true,
    ["pid"] = Environment.ProcessId,
    ["reloaded"] = loaded.Reloaded,
    ["cleanedUp"] = loaded.CleanedUp,
    ["loadMs"] = Math.Round(loadMs, 1),
    ["hostStartMs"] = Math.Round(hostStartMs, 1),
    ["sinceProcessStartMs"] = Math.Round((DateTime.UtcNow - processStarted).TotalMilliseconds, 1),
    ["durableEvents"] = PersistenceSeam.Durable,
    ["settings"] = new JsonObject
    {
        ["root"] = runtime.Settings.RootDirectory,
        ["stateDir"] = runtime.Settings.StateDirectory,
        ["namespace"] = runtime.Settings.Namespace,
        ["runcRoot"] = runtime.Settings.RuncRoot,
    },
});

// One task per request: a wait must not hold up the others. Responses carry the request's "seq" when it had one.
var inflight = new List<Task>();
var input = new StreamReader(Console.OpenStandardInput());
while (await input.ReadLineAsync() is { } line)
{
    if (line.Length == 0) continue;
    if (line.Trim() == "{\"op\":\"shutdown\"}") break;
    inflight.RemoveAll(t => t.IsCompleted);
    inflight.Add(Task.Run(async () => output.Write(await handler.HandleAsync(line))));
}

// stdin closed (or shutdown): stop the actor system; shims and their containers keep running, as with containerd.
await Task.WhenAny(Task.WhenAll(inflight), Task.Delay(TimeSpan.FromSeconds(2)));
await host.StopAsync();
return 0;
