using ActorRuntime.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.Host;

/// <summary>
/// Where the EventBus journal plugs in once it lands (an SQL journal under the runtime's root directory, or the
/// database named by <c>--db-provider/--db-connection</c>). Until then the host runs without persistence and says so:
/// the bus's exactly-once bookkeeping and offsets start afresh in every host generation.
/// <para>To switch it on: set the journal options on <see cref="ActorRuntimeOptions"/> in <see cref="Configure"/>
/// (or call the persistence builder extension here), set <see cref="Durable"/> to true and let
/// <see cref="EventFeed"/> subscribe with <c>EventBusProtocol.SubscribeFrom(afterOffset, ...)</c> so the host replays
/// what it missed while it was down.</para>
/// </summary>
internal static class PersistenceSeam
{
    /// <summary>True once the runtime keeps its event journal across restarts (offsets continue, no replays).</summary>
    public static bool Durable => false;

    public static void Configure(HostCommandLine host, ActorRuntimeOptions runtime, AkkaConfigurationBuilder akka, ILogger log)
    {
        if (host.DbProvider is not null)
            log.LogWarning("--db-provider {Provider}: persistence is not available in this build; running in memory",
                host.DbProvider);
        _ = runtime;
        _ = akka;
    }
}
