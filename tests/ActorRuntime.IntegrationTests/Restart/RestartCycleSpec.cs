namespace ActorRuntime.IntegrationTests.Restart;

/// <summary>
/// Restart cycles against the host as it runs today (EventBus state in memory). The PostgreSQL one-cycle variant
/// derives from <see cref="RestartCycleSpecBase"/> too, overriding HostArguments (--db-provider/--db-connection) and Cycles.
/// </summary>
public sealed class RestartCycleSpec(Xunit.Abstractions.ITestOutputHelper output) : RestartCycleSpecBase(output)
{
    [Fact(Timeout = 240_000)]
    public Task Five_restart_cycles_publish_every_exit_exactly_once_and_leak_nothing() => RunCyclesAsync();
}
