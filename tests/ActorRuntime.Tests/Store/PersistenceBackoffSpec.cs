using ActorRuntime.Store;
using Akka.Configuration;

namespace ActorRuntime.Tests.Store;

/// <summary>The back-off every persistent actor of the runtime restarts with after a failed journal write.</summary>
public sealed class PersistenceBackoffSpec
{
    [Fact]
    public void The_back_off_comes_from_hocon_with_the_shipped_defaults()
    {
        Assert.Equal(PersistenceBackoff.Default, PersistenceBackoff.Create(ConfigurationFactory.Empty));
        Assert.Equal(new PersistenceBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), 0.5),
            PersistenceBackoff.Create(ConfigurationFactory.ParseString(
                "actor-runtime.persistence-backoff { min = 1s, max = 1m, random-factor = 0.5 }")));
    }
}
