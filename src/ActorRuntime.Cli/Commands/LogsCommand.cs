using System.CommandLine;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;

namespace ActorRuntime.Cli.Commands;

/// <summary>`arctl logs [-f] ID`: the output of a `run -d` container, from the log file its shim writes (-f: and what follows, until it exits).</summary>
internal static class LogsCommand
{
    /// <summary>How often -f looks for more output; a log file gives no notice of writes.</summary>
    private static readonly TimeSpan FollowInterval = TimeSpan.FromMilliseconds(200);

    public static Command Create()
    {
        var follow = new Option<bool>("--follow", "-f") { Description = "keep printing new output until the container exits" };
        var id = new Argument<string>("id") { Description = "container id" };
        var command = new Command("logs", "print a detached container's output") { follow, id };
        CommandAction.Set(command, async (parse, session, ct) =>
        {
            var name = parse.GetValue(id)!;
            var container = await session.Client.LoadAsync(name, ct);
            if (!container.Labels.TryGetValue(RunCommand.LogLabel, out var path))
                throw new FailedPreconditionException($"container {name} has no log: only containers started with run -d keep one");
            await using var log = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            await using var stdout = Console.OpenStandardOutput();
            await log.CopyToAsync(stdout, ct);
            if (!parse.GetValue(follow)) return 0;

            using var interrupt = Interrupt.On(ct);
            try
            {
                while (true)
                {
                    var task = await CommandAction.OrNullAsync(session.Client.StatusAsync(name, interrupt.Token));
                    await log.CopyToAsync(stdout, interrupt.Token);
                    await stdout.FlushAsync(interrupt.Token);
                    // The exit was seen before this last copy, so everything the process wrote is printed.
                    if (task is null or { Status: ProcessStatus.Stopped }) return 0;
                    await Task.Delay(FollowInterval, interrupt.Token);
                }
            }
            catch (OperationCanceledException) when (interrupt.Token.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                return 0;
            }
        });
        return command;
    }
}
