using ActorRuntime.Configuration;
using ActorRuntime.Events;
using ActorRuntime.Persistence;
using ActorRuntime.Runtime;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorRuntime.Hosting;

/// <summary>Marker keys under which the runtime's actors sit in Akka.Hosting's ActorRegistry.</summary>
public sealed class ShimManagerKey;

public sealed class EventBusKey;

public sealed class ContainerRegistryKey;

/// <summary>Akka.Hosting builder extensions: <c>services.AddAkka("sys", b => b.WithActorRuntime(o => ...))</c>.</summary>
public static class ActorRuntimeHostingExtensions
{
    public static AkkaConfigurationBuilder WithActorRuntime(this AkkaConfigurationBuilder builder, Action<ActorRuntimeOptions> configure)
    {
        var options = new ActorRuntimeOptions();
        configure(options);
        return builder.WithActorRuntime(options);
    }

    /// <summary>Options set in code win over hocon/actorruntime.conf, which fills in the rest.</summary>
    public static AkkaConfigurationBuilder WithActorRuntime(this AkkaConfigurationBuilder builder, ActorRuntimeOptions options)
    {
        builder.AddHocon(options.ToHocon(), HoconAddMode.Prepend);
        builder.WithActorRuntimePersistence(ActorRuntimePersistence.Resolve(options.Persistence, options));
        builder.AddHocon(RuntimeSettings.DefaultConfig, HoconAddMode.Append);
        return builder.WithActors((system, registry, resolver) =>
        {
            var settings = RuntimeSettings.Create(system.Settings.Config);
            var loggers = resolver.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
            var bus = system.ActorOf(EventBus.Props(EventBusSettings.Create(system.Settings.Config)), "event-bus");
            // Durable records: which tasks are owed an exit, and the containers' metadata.
            var tasks = system.ActorOf(TaskRegistry.Props(settings.Namespace), "task-registry");
            var containers = system.ActorOf(Containers.ContainerRegistry.Props(settings.Namespace), "container-registry");
            var context = ShimContext.Create(settings, bus, loggers, options.ShimLauncher) with { TaskRegistry = tasks };
            var manager = system.ActorOf(ShimManager.Props(context), "shim-manager");
            registry.Register<EventBusKey>(bus);
            registry.Register<ShimManagerKey>(manager);
            registry.Register<ContainerRegistryKey>(containers);
        });
    }

    /// <summary>Registers <see cref="ContainerRuntime"/> for injection; pair with WithActorRuntime.</summary>
    public static IServiceCollection AddContainerRuntime(this IServiceCollection services) =>
        services.AddSingleton(sp =>
        {
            var registry = sp.GetRequiredService<ActorRegistry>();
            var system = sp.GetRequiredService<Akka.Actor.ActorSystem>();
            return new ContainerRuntime(registry.Get<ShimManagerKey>(), registry.Get<EventBusKey>(),
                RuntimeSettings.Create(system.Settings.Config), registry.Get<ContainerRegistryKey>());
        });
}
