using ActorRuntime.Configuration;
using ActorRuntime.Store;
using Akka.Hosting;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.Host;

/// <summary>
/// Chooses the runtime's store from the command line: SQLite under the root directory by default (WithActorRuntime's
/// own default), or the database named by <c>--db-provider postgresql --db-connection "..."</c>. Either way the
/// EventBus's exactly-once bookkeeping, its event journal and the process store survive a SIGKILL of this host.
/// </summary>
internal static class PersistenceSeam
{
    /// <summary>The runtime keeps its event journal across restarts (offsets continue, nothing is re-published).</summary>
    public static bool Durable => true;

    public static void Configure(HostCommandLine host, ActorRuntimeOptions runtime, AkkaConfigurationBuilder akka, ILogger log)
    {
        _ = akka;
        if (host.DbProvider is null) return;
        var provider = PersistenceSettings.ParseProvider(host.DbProvider, "--db-provider");
        // The host promises Durable; an in-memory store would silently break that promise.
        if (provider == PersistenceProvider.InMemory)
            throw new ArgumentException($"--db-provider {host.DbProvider}: the host keeps its state across restarts; use sqlite or postgresql");
        runtime.Persistence = new PersistenceOptions { Provider = provider, ConnectionString = host.DbConnection };
        log.LogInformation("persistence: {Provider}", provider);
    }
}
