using System.Diagnostics;

namespace ActorRuntime.Testing;

/// <summary>
/// The one polling wait of the test suites: checks a condition until it holds or a deadline passes, then fails with what
/// was awaited and, when given, what was seen instead. Import it with <c>using static ActorRuntime.Testing.Eventually;</c>
/// (the test projects do so globally) and call <c>EventuallyAsync(condition, what)</c>.
/// </summary>
public static class Eventually
{
    /// <summary>How long a wait lasts unless the caller says otherwise.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    // Short enough not to slow fast specs down, long enough not to compete with the code under test for the two cores.
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>Waits until <paramref name="condition"/> holds; throws <see cref="TimeoutException"/> after <paramref name="within"/>.</summary>
    /// <param name="what">What is awaited, for the failure message ("the exit of c1").</param>
    /// <param name="seen">Called once on failure: what there was instead (e.g. the events recorded).</param>
    public static Task EventuallyAsync(Func<bool> condition, string what, TimeSpan? within = null, Func<string>? seen = null) =>
        EventuallyAsync(() => Task.FromResult(condition()), what, within, seen);

    /// <inheritdoc cref="EventuallyAsync(Func{bool}, string, TimeSpan?, Func{string}?)"/>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, TimeSpan? within = null,
        Func<string>? seen = null)
    {
        var limit = within ?? DefaultTimeout;
        var elapsed = Stopwatch.StartNew();
        while (!await condition().ConfigureAwait(false))
        {
            if (elapsed.Elapsed > limit)
                throw new TimeoutException($"timed out after {limit.TotalSeconds:0.#} s waiting for {what}" +
                                           (seen is null ? "" : $"; seen:\n{seen()}"));
            await Task.Delay(PollInterval).ConfigureAwait(false);
        }
    }
}
