using System.Collections.Concurrent;
using ActorRuntime.Configuration;
using ActorRuntime.Events;
using ActorRuntime.Hosting;
using ActorRuntime.TestKit;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.Tests.Runtime;

/// <summary>A real IHost with Akka.Hosting: WithActorRuntime + AddContainerRuntime.</summary>
public sealed class HostingSpec : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private readonly FakeShimLauncher _launcher = new();
    private readonly string _stateDirectory = Path.Combine("/run/actorruntime-test", Guid.NewGuid().ToString("N")[..12]);
    private IHost _host = null!;

    public async Task InitializeAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddAkka("test", (b, _) => b.WithActorRuntime(o =>
        {
            o.StateDirectory = _stateDirectory;
            o.Namespace = "hosted";
            o.CallTimeout = TimeSpan.FromMilliseconds(1500);
            o.ShutdownTimeout = TimeSpan.FromSeconds(1);
            o.ShimLauncher = _launcher.For;
            // The root directory stays at its default (asserted below), so keep the store off the disk.
            o.Persistence = new ActorRuntime.Store.PersistenceOptions { Provider = ActorRuntime.Store.PersistenceProvider.InMemory };
        }));
        builder.Services.AddContainerRuntime();
        _host = builder.Build();
        await _host.StartAsync().WaitAsync(Bound);
    }

    public async Task DisposeAsync()
    {
        await _host.StopAsync().WaitAsync(Bound);
        _host.Dispose();
        await _launcher.DisposeAsync();
        if (Directory.Exists(_stateDirectory)) Directory.Delete(_stateDirectory, recursive: true);
    }

    [Fact]
    public void Code_set_options_win_over_the_hocon_defaults_and_unset_ones_keep_them()
    {
        var settings = _host.Services.GetRequiredService<ContainerRuntime>().Settings;
        Assert.Equal(_stateDirectory, settings.StateDirectory);
        Assert.Equal("hosted", settings.Namespace);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), settings.CallTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.ShutdownTimeout);
        // Not set in code: hocon/actorruntime.conf.
        Assert.Equal(TimeSpan.FromSeconds(5), settings.LoadTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.CleanupTimeout);
        Assert.Equal("containerd-shim-runc-v2", settings.ShimBinary);
        Assert.Equal("/var/lib/actorruntime", settings.RootDirectory);
        // The actor system itself reads the same merged configuration.
        var config = _host.Services.GetRequiredService<Akka.Actor.ActorSystem>().Settings.Config;
        Assert.Equal(TimeSpan.FromSeconds(5), config.GetTimeSpan("io.containerd.timeout.shim.load"));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), config.GetTimeSpan("actor-runtime.call-timeout"));
        Assert.Equal(RuntimeSettings.Create(config), settings);
    }

    [Fact]
    public async Task The_injected_ContainerRuntime_runs_a_container_on_the_fake_shim()
    {
        var runtime = _host.Services.GetRequiredService<ContainerRuntime>();
        var events = new ConcurrentQueue<TaskEvent>();
        await runtime.EventBus.Ask<EventBusProtocol.Subscribed>(new EventBusProtocol.SubscribeBackend(
            ["topic==\"/tasks/exit\"", "topic==\"/tasks/delete\""], e =>
            {
                events.Enqueue(e);
                return Task.CompletedTask;
            }), Bound);

        var pid = await runtime.CreateAsync("web", "{}", []);
        Assert.Equal(pid, await runtime.StartAsync("web"));
        Assert.Equal(pid, _launcher["web"].PidOf("web"));
        Assert.Equal(["web"], await runtime.ListAsync());
        var wait = runtime.WaitAsync("web");
        await runtime.KillAsync("web", 15);
        Assert.Equal(143u, (await wait.WaitAsync(Bound)).ExitStatus);
        await runtime.DeleteAsync("web");
        Assert.False(Directory.Exists(Path.Combine(_stateDirectory, "hosted", "web")));
        Assert.Empty(await runtime.ListAsync());

        await EventuallyAsync(() => events.Count >= 2, "the exit and delete events of web", Bound,
            () => string.Join(", ", events.Select(e => e.Topic)));
        await Task.Delay(200); // then nothing more
        Assert.Equal([Topics.Exit, Topics.Delete], events.Select(e => e.Topic));
        Assert.All(events, e => Assert.Equal(("hosted", "web", pid), (e.Namespace, e.ContainerId, e.Pid)));
    }
}
