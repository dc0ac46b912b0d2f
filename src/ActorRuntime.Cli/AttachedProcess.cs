using System.Runtime.InteropServices;
using ActorRuntime.Client;
using ActorRuntime.Protocol.Ttrpc;

namespace ActorRuntime.Cli;

/// <summary>
/// A process run in the foreground (run without -d, exec): its stdout and stderr copied to arctl's, arctl's stdin to
/// it with -i (then its stdin closed, as moby does), the terminal raw with -t and resized on SIGWINCH, SIGINT and SIGTERM
/// forwarded to it. The result is the process's exit.
/// </summary>
internal sealed class AttachedProcess(IContainerClient client, string id, string? execId, bool interactive, bool terminal)
{
    /// <summary>How long output may keep coming after the exit before arctl stops waiting for the shim to close it.</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

    private readonly List<Task> _output = [];
    private readonly TaskCompletionSource<bool> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Starts the process through <paramref name="start"/> (which hands <see cref="AttachAsync"/> to the client) and waits for its exit.</summary>
    public async Task<ExitResult> RunAsync(Func<StdioAttach, Task<StartedProcess>> start, CancellationToken ct)
    {
        using var raw = terminal ? LocalTerminal.EnterRaw() : null;
        // Registered before the start: the process may print before start returns here, and a Ctrl-C in that window
        // would otherwise end arctl itself (130) instead of reaching the process.
        using var interrupt = Forward(PosixSignal.SIGINT, Signals.SigInt);
        using var terminate = Forward(PosixSignal.SIGTERM, Signals.SigTerm);
        try
        {
            await start(AttachAsync);
            _started.TrySetResult(true);
        }
        finally
        {
            _started.TrySetResult(false);
        }
        using var winch = terminal && OperatingSystem.IsLinux() ? PosixSignalRegistration.Create(PosixSignal.SIGWINCH, context => { _ = ResizeAsync(); }) : null;
        if (terminal) await ResizeAsync();

        var exit = await client.WaitAsync(id, execId, ct);
        // The shim closes stdout and stderr once the process's last bytes are copied.
        await Task.WhenAny(Task.WhenAll(_output), Task.Delay(DrainTimeout, ct));
        return exit;
    }

    private Task AttachAsync(ProcessIo io, CancellationToken ct)
    {
        if (io.Stdout is { } stdout) _output.Add(CopyAsync(stdout, Console.OpenStandardOutput()));
        if (io.Stderr is { } stderr) _output.Add(CopyAsync(stderr, Console.OpenStandardError()));
        if (interactive && io.Stdin is { } stdin) _ = FeedStdinAsync(stdin);
        return Task.CompletedTask;
    }

    /// <summary>Copies chunk by chunk, flushing each, so an interactive shell's prompt shows at once.</summary>
    private static async Task CopyAsync(Stream from, Stream to)
    {
        var buffer = new byte[32 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, read));
                await to.FlushAsync();
            }
        }
        catch (IOException)
        {
            // Our own stdout went away (a closed pipe): nothing left to show the output to.
        }
    }

    /// <summary>arctl's stdin until its end, then the process's stdin closed so it sees EOF.</summary>
    private async Task FeedStdinAsync(Stream stdin)
    {
        try
        {
            await using (stdin)
                await Console.OpenStandardInput().CopyToAsync(stdin);
            await client.CloseStdinAsync(id, execId);
        }
        catch (Exception e) when (e is IOException or TtrpcException)
        {
            // The process exited first: its stdin is gone with it.
        }
    }

    private PosixSignalRegistration Forward(PosixSignal signal, int number) =>
        PosixSignalRegistration.Create(signal, context =>
        {
            context.Cancel = true;
            _ = ForwardWhenStartedAsync(number);
        });

    /// <summary>A signal that came during the start reaches the process once it runs; none if the start failed.</summary>
    private async Task ForwardWhenStartedAsync(int number)
    {
        if (await _started.Task) await IgnoreGoneAsync(client.SignalAsync(id, execId, number));
    }

    private async Task ResizeAsync()
    {
        if (LocalTerminal.Size() is { } size)
            await IgnoreGoneAsync(client.ResizeAsync(id, execId, size.Width, size.Height));
    }

    private static async Task IgnoreGoneAsync(Task call)
    {
        try
        {
            await call;
        }
        catch (TtrpcException)
        {
            // The process is already gone; its exit ends the command.
        }
    }
}
