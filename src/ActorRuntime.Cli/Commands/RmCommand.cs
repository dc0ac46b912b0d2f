using System.CommandLine;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;

namespace ActorRuntime.Cli.Commands;

/// <summary>
/// `arctl rm [-f] ID...`: deletes stopped containers (their task first) and their `run -d` log; -f kills a running one
/// first. A running container without -f is FailedPrecondition.
/// </summary>
internal static class RmCommand
{
    public static Command Create()
    {
        var force = new Option<bool>("--force", "-f") { Description = "kill a running container first" };
        var ids = new Argument<string[]>("id") { Description = "container ids", Arity = ArgumentArity.OneOrMore };
        var command = new Command("rm", "delete containers") { force, ids };
        CommandAction.Set(command, async (parse, session, ct) =>
        {
            var client = session.Client;
            foreach (var id in parse.GetValue(ids)!)
            {
                var container = await client.LoadAsync(id, ct);
                if (parse.GetValue(force))
                {
                    await client.ForceDeleteAsync(id, ct);
                }
                else
                {
                    var task = await CommandAction.OrNullAsync(client.StatusAsync(id, ct));
                    if (task is { Status: not ProcessStatus.Stopped })
                        throw new FailedPreconditionException(
                            $"container {id} is {PsRow.StatusName(task.Status)}: stop it first (arctl kill {id}) or remove it with rm -f");
                    if (task is not null) await client.DeleteTaskAsync(id, ct);
                    await client.DeleteAsync(id, ct);
                }
                if (container.Labels.TryGetValue(RunCommand.LogLabel, out var log)) File.Delete(log);
                session.Output.Line(id);
            }
            return 0;
        });
        return command;
    }
}
