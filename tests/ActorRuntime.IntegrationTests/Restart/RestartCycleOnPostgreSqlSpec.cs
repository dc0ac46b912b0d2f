using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Testing;

namespace ActorRuntime.IntegrationTests.Restart;

/// <summary>
/// One restart cycle with actorruntime-host's store on a real PostgreSQL 15 (started on a free loopback port by the
/// <see cref="PostgreSqlServer"/> fixture, stopped and removed afterwards; the test fails if it cannot start): event
/// journal, EventBus bookkeeping, task registry and container metadata all go through
/// <c>--db-provider postgresql --db-connection ...</c>. One cycle only: it shares two cores with the server.
/// </summary>
public sealed class RestartCycleOnPostgreSqlSpec(PostgreSqlServer server, Xunit.Abstractions.ITestOutputHelper output)
    : RestartCycleSpecBase(output), IClassFixture<PostgreSqlServer>
{
    protected override int Cycles => 1;

    protected override IReadOnlyList<string> HostArguments(ShimTestEnvironment env) =>
        [.. base.HostArguments(env), "--db-provider", "postgresql", "--db-connection", server.ConnectionString];

    [Fact(Timeout = 180_000)]
    public Task A_restart_cycle_on_PostgreSQL_publishes_every_exit_exactly_once_and_loses_no_metadata() => RunCyclesAsync();
}
