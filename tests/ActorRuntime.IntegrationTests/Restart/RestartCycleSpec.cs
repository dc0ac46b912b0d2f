namespace ActorRuntime.IntegrationTests.Restart;

/// <summary>
/// Five restart cycles against the host with its default store (SQLite under --root). The PostgreSQL one-cycle variant
/// is <see cref="RestartCycleOnPostgreSqlSpec"/>.
/// </summary>
public sealed class RestartCycleSpec(Xunit.Abstractions.ITestOutputHelper output) : RestartCycleSpecBase(output)
{
    [Fact(Timeout = 240_000)]
    public Task Five_restart_cycles_publish_every_exit_exactly_once_and_leak_nothing() => RunCyclesAsync();
}
