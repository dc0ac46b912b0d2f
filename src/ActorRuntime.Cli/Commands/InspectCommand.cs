using System.CommandLine;
using System.Text.Json.Nodes;
using ActorRuntime.Client;

namespace ActorRuntime.Cli.Commands;

/// <summary>`arctl inspect ID`: the container as recorded (spec, runtime, labels) and its task's status.</summary>
internal static class InspectCommand
{
    /// <summary>What inspect shows; Spec is the OCI document itself, so --json gives it as an object, not a string.</summary>
    internal sealed record Inspection(
        string Id,
        string Runtime,
        DateTimeOffset CreatedAt,
        DateTimeOffset UpdatedAt,
        IReadOnlyDictionary<string, string> Labels,
        string Status,
        uint Pid,
        uint? ExitStatus,
        JsonNode? Spec)
    {
        public static Inspection Of(ContainerInfo container, TaskStatusInfo? task)
        {
            var row = PsRow.Of(container, task);
            return new(container.Id, container.Runtime, container.CreatedAt, container.UpdatedAt, container.Labels,
                row.Status, row.Pid, row.ExitStatus, JsonNode.Parse(container.SpecJson));
        }

        public static readonly Column<Inspection>[] Fields =
        [
            new("Id", i => i.Id),
            new("Runtime", i => i.Runtime),
            new("Created", i => i.CreatedAt.ToString("O")),
            new("Status", i => i.ExitStatus is { } code ? $"{i.Status} ({code})" : i.Status),
            new("Pid", i => i.Pid == 0 ? "-" : i.Pid.ToString()),
            new("Command", i => string.Join(" ", i.Spec?["process"]?["args"]?.AsArray().Select(a => a?.GetValue<string>()) ?? [])),
            new("Terminal", i => (i.Spec?["process"]?["terminal"]?.GetValue<bool>() ?? false).ToString().ToLowerInvariant()),
            new("Labels", i => string.Join(", ", i.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"))),
        ];
    }

    public static Command Create()
    {
        var id = new Argument<string>("id") { Description = "container id" };
        var command = new Command("inspect", "show a container's record and status") { id };
        CommandAction.Set(command, async (parse, session, ct) =>
        {
            var container = await session.Client.LoadAsync(parse.GetValue(id)!, ct);
            var task = await CommandAction.OrNullAsync(session.Client.StatusAsync(container.Id, ct));
            session.Output.Record(Inspection.Of(container, task), Inspection.Fields);
            return 0;
        });
        return command;
    }
}
