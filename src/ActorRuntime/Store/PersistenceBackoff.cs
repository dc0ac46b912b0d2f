using ActorRuntime.Configuration;
using ActorRuntime.Protocol.Ttrpc;
using Akka.Actor;
using Akka.Configuration;
using Akka.Pattern;

namespace ActorRuntime.Store;

/// <summary>
/// How the runtime's persistent actors come back after a failed journal write, which makes Akka stop them: a back-off
/// supervisor starts the actor again (it recovers from the journal) after <see cref="Min"/>, doubling up to
/// <see cref="Max"/>. Defaults in <c>actor-runtime.persistence-backoff</c> (hocon/actorruntime.conf).
/// </summary>
public sealed record PersistenceBackoff(TimeSpan Min, TimeSpan Max, double RandomFactor)
{
    public static readonly PersistenceBackoff Default = new(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), 0.2);

    public static PersistenceBackoff Create(Config config)
    {
        var c = config.WithFallback(RuntimeSettings.DefaultConfig).GetConfig("actor-runtime.persistence-backoff");
        return new PersistenceBackoff(c.GetTimeSpan("min", Default.Min), c.GetTimeSpan("max", Default.Max),
            c.GetDouble("random-factor", Default.RandomFactor));
    }

    /// <summary>
    /// Asks <paramref name="target"/> (an actor under this back-off's supervisor, or one that talks to one) until it
    /// answers with a <typeparamref name="T"/>, waiting <see cref="Min"/> after the first failure, doubling up to
    /// <see cref="Max"/>: while the persistent actor is down its supervisor answers Unavailable, or nothing reaches it.
    /// Each failure is shown to <paramref name="failed"/>. Cancelled (only) by <paramref name="ct"/>.
    /// </summary>
    public Task<T> AskUntilAnsweredAsync<T>(IActorRef target, object message, TimeSpan askTimeout, CancellationToken ct,
        Action<Exception>? failed = null) =>
        UntilDoneAsync(() => target.Ask<T>(message, askTimeout, ct), ct, failed);

    /// <summary>
    /// Runs <paramref name="attempt"/> until it completes, with this back-off's delays between failures (each shown to
    /// <paramref name="failed"/>). Cancelled (only) by <paramref name="ct"/>.
    /// </summary>
    public async Task<T> UntilDoneAsync<T>(Func<Task<T>> attempt, CancellationToken ct, Action<Exception>? failed = null)
    {
        var delay = Min;
        while (true)
        {
            try
            {
                return await attempt().ConfigureAwait(false);
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                failed?.Invoke(e);
                await Task.Delay(delay, ct).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, Max.Ticks));
            }
        }
    }

    /// <summary>
    /// Props of a supervisor that runs <paramref name="child"/> as <paramref name="childName"/>, passes it every message
    /// with the sender kept, and starts it again after a back-off when it stops. While the child is down, every message
    /// is answered with <see cref="Unavailable"/>, so an asker learns at once that nothing was stored.
    /// </summary>
    public Props Supervise(Props child, string childName, string what) =>
        BackoffSupervisor.Props(Backoff.OnStop(child, childName, Min, Max, RandomFactor, maxNrOfRetries: -1)
            .WithReplyWhileStopped(new Status.Failure(new UnavailableException(
                $"{what}: restarting after a failed journal write; nothing was stored, try again"))));

    /// <summary>The answer to a write the journal did not confirm (failed or rejected): containerd's Unavailable.</summary>
    public static UnavailableException Unavailable(string what, Exception? cause = null) =>
        new($"{what}: the journal did not confirm the write{(cause is null ? "" : $" ({cause.Message})")}; try again", cause);
}
