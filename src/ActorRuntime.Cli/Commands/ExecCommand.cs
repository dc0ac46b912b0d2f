using System.CommandLine;
using System.Security.Cryptography;
using ActorRuntime.Client;

namespace ActorRuntime.Cli.Commands;

/// <summary>
/// `arctl exec [-i] [-t] [-e K=V] [-w DIR] [-u UID[:GID]] [--exec-id ID] CONTAINER COMMAND...`: runs a process in the
/// container's running task, in the foreground; its exit status is arctl's, and the exec is deleted after it.
/// </summary>
internal static class ExecCommand
{
    public static readonly Option<bool> Interactive = new("--interactive", "-i") { Description = "keep stdin open to the process" };
    public static readonly Option<bool> Tty = new("--tty", "-t") { Description = "give it a terminal" };
    public static readonly Option<string[]> Env = new("--env", "-e") { Description = "KEY=VALUE in its environment (repeatable)" };
    public static readonly Option<string?> Cwd = new("--cwd", "-w") { Description = "its working directory" };
    public static readonly Option<string?> User = new("--user", "-u") { Description = "numeric UID[:GID] to run as" };
    public static readonly Option<string?> ExecId = new("--exec-id") { Description = "the exec's id (default: a random one)" };
    public static readonly Argument<string> Id = new("id") { Description = "container id" };

    public static readonly Argument<string[]> CommandLine = new("command")
    {
        Description = "command and arguments (default: sh)",
        Arity = ArgumentArity.ZeroOrMore,
        CaptureRemainingTokens = true,
    };

    public static Command Create()
    {
        var command = new Command("exec", "run a process in a running container") { Interactive, Tty, Env, Cwd, User, ExecId, Id, CommandLine };
        CommandAction.Set(command, ExecAsync);
        return command;
    }

    public static ProcessArguments Arguments(ParseResult parse) => new(
        parse.GetValue(CommandLine) ?? [], parse.GetValue(Tty), parse.GetValue(Env), parse.GetValue(Cwd), parse.GetValue(User));

    private static async Task<int> ExecAsync(ParseResult parse, Session session, CancellationToken ct)
    {
        var client = session.Client;
        var id = parse.GetValue(Id)!;
        var execId = parse.GetValue(ExecId) ?? "arctl-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var arguments = Arguments(parse);
        var container = await client.LoadAsync(id, ct);
        var processJson = ProcessSpecs.ExecProcessJson(container.SpecJson, arguments);
        var interactive = parse.GetValue(Interactive);

        var started = false;
        ExitResult exit;
        try
        {
            exit = await new AttachedProcess(client, id, execId, interactive, arguments.Terminal).RunAsync(async attach =>
            {
                var process = await client.ExecAsync(id, execId,
                    new ExecOptions(processJson, WithStdin: interactive, Terminal: arguments.Terminal, Attach: attach), ct);
                started = true;
                return process;
            }, ct);
        }
        finally
        {
            if (started) await CommandAction.OrNullAsync(client.DeleteProcessAsync(id, execId, CancellationToken.None));
        }
        return (int)exit.ExitStatus;
    }
}
