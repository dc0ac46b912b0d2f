using System.CommandLine;
using ActorRuntime.Client;

namespace ActorRuntime.Cli.Commands;

/// <summary>
/// `arctl events [--since OFFSET] [--filter KEY=VALUE]...`: the namespace's task events as they happen, each with its
/// offset, until Ctrl-C; --since replays those after OFFSET first (a script that records the last offset it handled
/// resumes there with nothing missed).
/// </summary>
internal static class EventsCommand
{
    public static Command Create()
    {
        var since = new Option<long?>("--since") { Description = "replay the events after this offset first" };
        var filter = new Option<string[]>("--filter") { Description = "container=ID, exec=ID or type=KIND (repeatable; all must hold)" };
        var command = new Command("events", "print task events as they happen") { since, filter };
        CommandAction.Set(command, async (parse, session, ct) =>
        {
            var backend = new Printer(session.Output, EventFilter.Parse(parse.GetValue(filter)));
            using var interrupt = Interrupt.On(ct);
            await using (await session.Client.SubscribeAsync(backend, parse.GetValue(since), ct))
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, interrupt.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // Ctrl-C: the end of a live feed, not an error.
                }
            }
            return 0;
        });
        return command;
    }

    /// <summary>Prints matching events; the client calls it in parallel across containers, so lines are written one at a time.</summary>
    private sealed class Printer(Output output, EventFilter filter) : IContainerEventBackend
    {
        private readonly Lock _lock = new();

        public Task ProcessEventAsync(ContainerEvent e, CancellationToken ct)
        {
            if (filter.Matches(e))
                lock (_lock) output.Item(e, EventFilter.Line);
            return Task.CompletedTask;
        }
    }
}
