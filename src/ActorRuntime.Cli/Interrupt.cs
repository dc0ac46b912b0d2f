using System.Runtime.InteropServices;

namespace ActorRuntime.Cli;

/// <summary>
/// Ctrl-C (SIGINT) or SIGTERM ending a live command (stats, events, logs -f) cleanly. arctl turns off
/// System.CommandLine's own handler because `run` and `exec` forward these signals to the container instead.
/// </summary>
internal sealed class Interrupt : IDisposable
{
    private readonly CancellationTokenSource _source;
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;

    private Interrupt(CancellationToken ct)
    {
        _source = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
    }

    public CancellationToken Token => _source.Token;

    public static Interrupt On(CancellationToken ct) => new(ct);

    private void Stop(PosixSignalContext context)
    {
        context.Cancel = true;
        _source.Cancel();
    }

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _source.Dispose();
    }
}
