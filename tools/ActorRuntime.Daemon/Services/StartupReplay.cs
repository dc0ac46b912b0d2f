namespace ActorRuntime.Daemon.Services;

/// <summary>
/// Events/Subscribe's replay rule. A restarted daemon publishes, while it reloads, the exits of tasks that ended while it
/// was down, before it serves, so before dockerd can re-subscribe (dockerd never re-lists: a lost /tasks/exit leaves a
/// container Up for good). A stream opened within <paramref name="window"/> of <see cref="Serving"/> therefore first
/// receives what the bus published since this daemon began (after <paramref name="startOffset"/>), then live events;
/// a later one gets live events only. The window outlasts dockerd's reconnect back-off (capped at 3 s).
/// </summary>
internal sealed class StartupReplay(long startOffset, TimeSpan window, TimeProvider clock)
{
    /// <summary>Never replays: for servers over a runtime that did not just start.</summary>
    public static readonly StartupReplay None = new(0, TimeSpan.Zero, TimeProvider.System);

    private long? _servingSince;

    /// <summary>The server accepts connections from now on; until then every stream is within the window.</summary>
    public void Serving() => _servingSince ??= clock.GetTimestamp();

    /// <summary>The offset a stream opened now resumes after, or null for live events only.</summary>
    public long? ReplayAfter() =>
        window > TimeSpan.Zero && (_servingSince is not { } since || clock.GetElapsedTime(since) < window) ? startOffset : null;
}
