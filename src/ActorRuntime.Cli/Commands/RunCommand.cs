using System.CommandLine;
using ActorRuntime.Client;
using ActorRuntime.Oci;
using ActorRuntime.Protocol.Ttrpc;

namespace ActorRuntime.Cli.Commands;

/// <summary>
/// `arctl run [--rm] [-d] [-i] [-t] [-e K=V] [-w DIR] [-u UID[:GID]] [-l K=V] [--rootfs DIR | --bundle DIR] ID [COMMAND...]`:
/// records the container and starts its task. In the foreground its exit status is arctl's; with -d its output goes to
/// a log file (`arctl logs`) kept until `arctl rm`. With neither --rootfs nor --bundle it runs in the busybox root
/// filesystem under --root.
/// </summary>
internal static class RunCommand
{
    /// <summary>The label naming a detached container's log file, read by logs and rm.</summary>
    public const string LogLabel = "io.actorruntime.arctl.log";

    public static readonly Option<bool> Remove = new("--rm") { Description = "delete the container when it exits" };
    public static readonly Option<bool> Detach = new("--detach", "-d") { Description = "start it and return; its output goes to its log (arctl logs)" };
    public static readonly Option<bool> Interactive = new("--interactive", "-i") { Description = "keep stdin open to the container" };
    public static readonly Option<bool> Tty = new("--tty", "-t") { Description = "give it a terminal" };
    public static readonly Option<string[]> Env = new("--env", "-e") { Description = "KEY=VALUE in its environment (repeatable)" };
    public static readonly Option<string?> Cwd = new("--cwd", "-w") { Description = "its working directory" };
    public static readonly Option<string?> User = new("--user", "-u") { Description = "numeric UID[:GID] to run as" };
    public static readonly Option<string[]> Label = new("--label", "-l") { Description = "KEY=VALUE label on the container (repeatable)" };
    public static readonly Option<string?> Rootfs = new("--rootfs") { Description = "root filesystem directory (default: busybox under --root)" };
    public static readonly Option<string?> Bundle = new("--bundle") { Description = "an OCI bundle directory (config.json and its root)" };
    public static readonly Argument<string> Id = new("id") { Description = "container id" };

    public static readonly Argument<string[]> CommandLine = new("command")
    {
        Description = "command and arguments (default: the bundle's, or sh)",
        Arity = ArgumentArity.ZeroOrMore,
        CaptureRemainingTokens = true,
    };

    public static Command Create()
    {
        var command = new Command("run", "run a container")
        {
            Remove, Detach, Interactive, Tty, Env, Cwd, User, Label, Rootfs, Bundle, Id, CommandLine,
        };
        CommandAction.Set(command, RunAsync);
        return command;
    }

    /// <summary>The arguments as a plan: pure, for the specs.</summary>
    public static RunArguments Arguments(ParseResult parse) => new(
        parse.GetValue(Id)!,
        new ProcessArguments(parse.GetValue(CommandLine) ?? [], parse.GetValue(Tty), parse.GetValue(Env), parse.GetValue(Cwd),
            parse.GetValue(User)),
        parse.GetValue(Label),
        parse.GetValue(Rootfs),
        parse.GetValue(Bundle));

    private static async Task<int> RunAsync(ParseResult parse, Session session, CancellationToken ct)
    {
        var settings = session.Settings;
        var client = session.Client;
        var arguments = Arguments(parse);
        var detach = parse.GetValue(Detach);
        var remove = parse.GetValue(Remove);
        if (detach && remove) throw new InvalidArgumentException("--rm and --detach do not go together: remove it later with arctl rm");
        if (detach && parse.GetValue(Interactive)) throw new InvalidArgumentException("--interactive needs the foreground: drop --detach");

        var labels = new Dictionary<string, string>(ProcessSpecs.ParsePairs(arguments.Labels, "--label"));
        string? logPath = null;
        if (detach)
        {
            logPath = settings.LogPath(arguments.Id);
            labels[LogLabel] = logPath;
        }
        var plan = ProcessSpecs.Plan(settings.Namespace, arguments with { Labels = labels.Select(l => $"{l.Key}={l.Value}").ToList() },
            settings.BusyboxRootfs, File.ReadAllText);
        if (arguments.Rootfs is null && arguments.Bundle is null) BusyboxImage.Ensure(plan.RootfsDirectory);
        else if (!Directory.Exists(plan.RootfsDirectory))
            throw new InvalidArgumentException($"root filesystem {plan.RootfsDirectory} is not a directory");
        var rootfs = new[] { BusyboxImage.BindMount(plan.RootfsDirectory) };

        await client.CreateAsync(plan.Container, ct);
        if (detach)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
            var detached = await StartOrDeleteAsync(client, arguments.Id,
                () => client.StartAsync(arguments.Id, new StartOptions(LogPath: logPath, Terminal: arguments.Process.Terminal, Rootfs: rootfs), ct));
            if (session.Output.Json) session.Output.WriteJson(new { id = arguments.Id, pid = detached.Pid });
            else session.Output.Line(arguments.Id);
            return 0;
        }

        var interactive = parse.GetValue(Interactive);
        var foreground = new AttachedProcess(client, arguments.Id, null, interactive, arguments.Process.Terminal);
        var started = false;
        ExitResult exit;
        try
        {
            exit = await foreground.RunAsync(async attach =>
            {
                var process = await StartOrDeleteAsync(client, arguments.Id, () => client.StartAsync(arguments.Id,
                    new StartOptions(WithStdin: interactive, Terminal: arguments.Process.Terminal, Attach: attach, Rootfs: rootfs), ct));
                started = true;
                return process;
            }, ct);
        }
        finally
        {
            // As ctr run: the task goes once the process is done (its shim and FIFOs with it); the container with --rm.
            if (started)
            {
                await CommandAction.OrNullAsync(client.DeleteTaskAsync(arguments.Id, CancellationToken.None));
                if (remove) await client.DeleteAsync(arguments.Id, CancellationToken.None);
            }
        }
        return (int)exit.ExitStatus;
    }

    /// <summary>A task that does not start leaves no container behind either: the client removed the task, arctl the record.</summary>
    private static async Task<StartedProcess> StartOrDeleteAsync(IContainerClient client, string id, Func<Task<StartedProcess>> start)
    {
        try
        {
            return await start();
        }
        catch (TtrpcException)
        {
            await client.DeleteAsync(id, CancellationToken.None);
            throw;
        }
    }
}
