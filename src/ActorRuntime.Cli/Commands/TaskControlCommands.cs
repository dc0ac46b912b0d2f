using System.CommandLine;

namespace ActorRuntime.Cli.Commands;

/// <summary>`arctl kill`, `pause`, `resume`: one call on the task of each container named.</summary>
internal static class TaskControlCommands
{
    public static Command Kill()
    {
        var signal = new Option<string>("--signal", "-s") { Description = "signal name or number", DefaultValueFactory = _ => "TERM" };
        var all = new Option<bool>("--all") { Description = "signal every process of the task, not only the init (no -a: that is --address)" };
        var exec = new Option<string?>("--exec-id") { Description = "signal this exec instead of the init" };
        var ids = Ids();
        var command = new Command("kill", "signal a container's process") { signal, all, exec, ids };
        CommandAction.Set(command, async (parse, session, ct) =>
        {
            var number = Signals.Parse(parse.GetValue(signal)!);
            foreach (var id in parse.GetValue(ids)!)
                await session.Client.SignalAsync(id, parse.GetValue(exec), number, parse.GetValue(all), ct);
            return 0;
        });
        return command;
    }

    public static Command Pause() => Each("pause", "pause a container's processes", (s, id, ct) => s.Client.PauseAsync(id, ct));

    public static Command Resume() => Each("resume", "resume a paused container", (s, id, ct) => s.Client.ResumeAsync(id, ct));

    private static Argument<string[]> Ids() => new("id") { Description = "container ids", Arity = ArgumentArity.OneOrMore };

    private static Command Each(string name, string description, Func<Session, string, CancellationToken, Task> call)
    {
        var ids = Ids();
        var command = new Command(name, description) { ids };
        CommandAction.Set(command, async (parse, session, ct) =>
        {
            foreach (var id in parse.GetValue(ids)!) await call(session, id, ct);
            return 0;
        });
        return command;
    }
}
