using System.CommandLine;
using ActorRuntime.Cli;

// run and exec forward Ctrl-C to the container; live commands stop on it themselves (Interrupt).
return await ArctlCommand.Create().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
