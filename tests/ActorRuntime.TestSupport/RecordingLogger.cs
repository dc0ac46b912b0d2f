using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.Testing;

/// <summary>An ILogger that keeps every entry, and lets a test wait for one to arrive.</summary>
public sealed class RecordingLogger : ILogger
{
    private readonly ConcurrentQueue<(LogLevel Level, string Message)> _entries = new();
    private readonly SemaphoreSlim _arrived = new(0);

    public IReadOnlyList<(LogLevel Level, string Message)> Entries => _entries.ToArray();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
        Func<TState, Exception?, string> formatter)
    {
        var message = formatter(state, exception);
        if (exception is not null) message += " | " + exception.Message;
        _entries.Enqueue((logLevel, message));
        _arrived.Release();
    }

    /// <summary>Waits until an entry satisfies <paramref name="match"/>; fails the test with what did arrive otherwise.</summary>
    public async Task<(LogLevel Level, string Message)> WaitForAsync(Func<(LogLevel Level, string Message), bool> match,
        TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var found = _entries.FirstOrDefault(match);
            if (found.Message is not null) return found;
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !await _arrived.WaitAsync(left))
            {
                found = _entries.FirstOrDefault(match);
                if (found.Message is not null) return found;
                throw new TimeoutException(
                    $"no matching log entry within {timeout}; got:\n{string.Join("\n", _entries.Select(e => $"{e.Level}: {e.Message}"))}");
            }
        }
    }
}
