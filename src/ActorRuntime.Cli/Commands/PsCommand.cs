using System.CommandLine;

namespace ActorRuntime.Cli.Commands;

/// <summary>`arctl ps`: the namespace's containers with their task's status and pid.</summary>
internal static class PsCommand
{
    public static Command Create()
    {
        var command = new Command("ps", "list containers");
        command.Aliases.Add("ls");
        CommandAction.Set(command, async (_, session, ct) =>
        {
            var rows = new List<PsRow>();
            foreach (var container in (await session.Client.ListAsync(ct)).OrderBy(c => c.Id, StringComparer.Ordinal))
                rows.Add(PsRow.Of(container, await CommandAction.OrNullAsync(session.Client.StatusAsync(container.Id, ct))));
            session.Output.Table(rows, PsRow.Columns);
            return 0;
        });
        return command;
    }
}
