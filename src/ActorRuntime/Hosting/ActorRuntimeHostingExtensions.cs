using ActorRuntime.Cluster;
using ActorRuntime.Configuration;
using ActorRuntime.Store;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.Hosting;

/// <summary>Marker keys under which the runtime's actors sit in Akka.Hosting's ActorRegistry.</summary>
public sealed class ShimManagerKey;

public sealed class EventBusKey;

public sealed class ContainerStoreKey;

public sealed class ProcessStoreKey;

public sealed class NamespaceStoreKey;

public sealed class LeaseStoreKey;

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
        builder.AddHocon(RuntimeTopology.Overrides(options), HoconAddMode.Prepend);
        builder.AddHocon(RuntimeTopology.Defaults, HoconAddMode.Append);
        // The setups besides the configuration (which the two lines above lay around the host's own).
        if (ActorRuntimePersistence.DataOptionsSetup(ActorRuntimePersistence.Resolve(options.Persistence, options)) is { } data)
            builder.AddSetup(data);
        return builder.WithActors((system, registry, resolver) =>
        {
            var runtime = RuntimeTopology.Start(system, options, resolver.GetService<ILoggerFactory>());
            registry.Register<EventBusKey>(runtime.Actors.EventBus);
            registry.Register<ShimManagerKey>(runtime.Actors.ShimManager);
            registry.Register<ProcessStoreKey>(runtime.Actors.Processes);
            registry.Register<ContainerStoreKey>(runtime.Actors.Containers);
            registry.Register<NamespaceStoreKey>(runtime.Actors.Namespaces);
            registry.Register<LeaseStoreKey>(runtime.Actors.Leases);
        });
    }

    public static AkkaConfigurationBuilder WithCluster(this AkkaConfigurationBuilder builder, Action<ClusterRuntimeOptions> configure)
    {
        var options = new ClusterRuntimeOptions();
        configure(options);
        return builder.WithCluster(options);
    }

    /// <summary>
    /// Cluster mode (<see cref="ClusterSettings"/>): the options set in code win over <c>actor-runtime.cluster</c> in
    /// hocon/actorruntime.conf, and the Akka settings they stand for (cluster provider, remoting, seeds, the node's role,
    /// the split-brain resolver) are laid over the host's own. Options that leave seed nodes empty change nothing.
    /// Pair with WithActorRuntime, whose start refuses cluster mode on SQLite.
    /// </summary>
    public static AkkaConfigurationBuilder WithCluster(this AkkaConfigurationBuilder builder, ClusterRuntimeOptions options)
    {
        var settings = ClusterSettings.Create(options);
        builder.AddHocon(options.ToHocon(), HoconAddMode.Prepend);
        if (settings.SerializerSetup() is { } json) builder.AddSetup(json);
        return builder.AddHocon(settings.AkkaConfig(), HoconAddMode.Prepend);
    }

    /// <summary>
    /// Akka's own logging goes to the host's ILoggerFactory, at the Akka level nearest <paramref name="level"/> (Trace and
    /// Debug are Debug; Critical and None log errors only).
    /// </summary>
    public static AkkaConfigurationBuilder WithHostLogging(this AkkaConfigurationBuilder builder, LogLevel level) =>
        builder.ConfigureLoggers(l =>
        {
            l.LogLevel = level switch
            {
                LogLevel.Trace or LogLevel.Debug => Akka.Event.LogLevel.DebugLevel,
                LogLevel.Information => Akka.Event.LogLevel.InfoLevel,
                LogLevel.Warning => Akka.Event.LogLevel.WarningLevel,
                _ => Akka.Event.LogLevel.ErrorLevel,
            };
            l.ClearLoggers();
            l.AddLoggerFactory();
        });

    /// <summary>Registers <see cref="ContainerRuntime"/> for injection; pair with WithActorRuntime.</summary>
    public static IServiceCollection AddContainerRuntime(this IServiceCollection services) =>
        services.AddSingleton(sp =>
        {
            var registry = sp.GetRequiredService<ActorRegistry>();
            var system = sp.GetRequiredService<ActorSystem>();
            return new ContainerRuntime(new RuntimeActors(registry.Get<EventBusKey>(), registry.Get<ShimManagerKey>(),
                registry.Get<ProcessStoreKey>(), registry.Get<ContainerStoreKey>(),
                registry.Get<NamespaceStoreKey>(), registry.Get<LeaseStoreKey>()), RuntimeSettings.Create(system.Settings.Config),
                cluster: ClusterNode.Of(system));
        });
}
