using System.CommandLine;
using ActorRuntime.Cli.Commands;

namespace ActorRuntime.Cli;

/// <summary>arctl's command tree: every command, and the global options on all of them.</summary>
internal static class ArctlCommand
{
    public static RootCommand Create()
    {
        var root = new RootCommand("arctl: run and inspect containers with ActorRuntime (actorruntimed, or in-process)")
        {
            RunCommand.Create(),
            ExecCommand.Create(),
            PsCommand.Create(),
            TopCommand.Create(),
            StatsCommand.Create(),
            TaskControlCommands.Kill(),
            TaskControlCommands.Pause(),
            TaskControlCommands.Resume(),
            RmCommand.Create(),
            LogsCommand.Create(),
            EventsCommand.Create(),
            InspectCommand.Create(),
            InfoCommands.Namespaces(),
            InfoCommands.Version(),
            InfoCommands.Rootfs(),
        };
        foreach (var option in GlobalOptions.All) root.Add(option);
        return root;
    }
}
