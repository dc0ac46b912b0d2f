using ActorRuntime.Testing;

namespace ActorRuntime.Tests.Persistence;

/// <summary>The restart / resume scenarios and the replay-to-live switch once against a real PostgreSQL 15 on loopback.</summary>
public sealed class PostgreSqlEventBusPersistenceSpec(PostgreSqlServer server, Xunit.Abstractions.ITestOutputHelper output)
    : Akka.TestKit.Xunit2.TestKit("akka.loglevel = INFO", output), IClassFixture<PostgreSqlServer>
{
    [Fact]
    public async Task Exits_stay_deduplicated_and_subscribers_resume_across_restarts_on_PostgreSQL()
    {
        await PersistenceScenarios.Republished_exits_are_dropped_after_a_restart(server.Settings, snapshotEvery: 3);
        // Same database, fresh persistence state is not needed: the resume scenario only looks at events after its own offsets.
        await PersistenceScenarios.A_subscriber_resumes_after_a_restart_without_gap_or_duplicate(server.Settings, snapshotEvery: 4);
        // A smaller run than SQLite's 1,000: the fixture turns connection pooling off, so each write opens a connection.
        await PersistenceScenarios.A_slow_subscriber_switches_from_replay_to_live_without_gap_or_duplicate(
            server.Settings, line => Output?.WriteLine(line), total: 200);
    }
}
