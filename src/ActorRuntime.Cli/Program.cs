using System.CommandLine;
using ActorRuntime.Cli;
using ActorRuntime.Cli.Commands;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

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
// run and exec forward Ctrl-C to the container; live commands stop on it themselves (Interrupt).
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
