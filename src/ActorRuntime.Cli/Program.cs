using System.CommandLine;
using ActorRuntime.Cli;

var root = new RootCommand("arctl: run and inspect containers with ActorRuntime")
{
    RunCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
