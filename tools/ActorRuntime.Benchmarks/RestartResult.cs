namespace ActorRuntime.Benchmarks;

/// <summary>One runtime's figures for the restart scenario (milliseconds unless named otherwise).</summary>
internal sealed record RestartResult(
    string Runtime,
    int Containers,
    double CreateStartAllMs,
    double SpawnToApiReadyMs,
    double SpawnToAllReloadedMs,
    double SpawnToAllStateMs,
    double? ReloadPhaseMs,
    double CleanupMs,
    string Notes);
