using System.CommandLine;

namespace ActorRuntime.Cli.Commands;

/// <summary>`arctl top ID`: the task's processes, with their exec id and command line.</summary>
internal static class TopCommand
{
    public static Command Create()
    {
        var id = new Argument<string>("id") { Description = "container id" };
        var command = new Command("top", "list a container's processes") { id };
        CommandAction.Set(command, async (parse, session, ct) =>
        {
            var processes = await session.Client.SummaryAsync(parse.GetValue(id)!, ct);
            session.Output.Table(processes.Select(p => TopRow.Of(p, TopRow.ProcCommandLine)).ToList(), TopRow.Columns);
            return 0;
        });
        return command;
    }
}
