using System.CommandLine;
using ActorRuntime.Client;
using ActorRuntime.Tasks;
using Spectre.Console;

namespace ActorRuntime.Cli.Commands;

/// <summary>
/// `arctl stats [--no-stream] [ID...]`: CPU, memory, pids and block I/O of the named containers (default: every running
/// one), redrawn every second until Ctrl-C, or one sample pair with --no-stream. --json prints one array per sample.
/// </summary>
internal static class StatsCommand
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    public static Command Create()
    {
        var noStream = new Option<bool>("--no-stream") { Description = "print one sample and exit" };
        var ids = new Argument<string[]>("id") { Description = "container ids (default: all running)", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("stats", "show containers' resource use") { noStream, ids };
        CommandAction.Set(command, async (parse, session, ct) =>
        {
            var named = parse.GetValue(ids) ?? [];
            var targets = named.Length > 0 ? named : await RunningAsync(session.Client, ct);
            var previous = await SampleAsync(session.Client, targets, ct);
            using var interrupt = Interrupt.On(ct);
            try
            {
                // The CPU share needs two samples a second apart, --no-stream too.
                await Task.Delay(Interval, interrupt.Token);
                if (parse.GetValue(noStream))
                {
                    session.Output.Table(Rows(await SampleAsync(session.Client, targets, ct), previous), StatsRow.Columns);
                    return 0;
                }
                if (session.Output.Json)
                {
                    while (true)
                    {
                        var current = await SampleAsync(session.Client, targets, interrupt.Token);
                        session.Output.WriteJson(Rows(current, previous));
                        previous = current;
                        await Task.Delay(Interval, interrupt.Token);
                    }
                }
                await AnsiConsole.Live(new Text("")).StartAsync(async live =>
                {
                    while (true)
                    {
                        var current = await SampleAsync(session.Client, targets, interrupt.Token);
                        live.UpdateTarget(Output.BuildTable(Rows(current, previous), StatsRow.Columns));
                        previous = current;
                        await Task.Delay(Interval, interrupt.Token);
                    }
                });
                return 0;
            }
            catch (OperationCanceledException) when (interrupt.Token.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                return 0;
            }
        });
        return command;
    }

    private static List<StatsRow> Rows(IReadOnlyDictionary<string, ContainerStats> current, IReadOnlyDictionary<string, ContainerStats> previous) =>
        current.Values.OrderBy(s => s.ContainerId, StringComparer.Ordinal)
            .Select(s => StatsRow.Of(s, previous.GetValueOrDefault(s.ContainerId)))
            .ToList();

    private static async Task<string[]> RunningAsync(IContainerClient client, CancellationToken ct)
    {
        var running = new List<string>();
        foreach (var container in await client.ListAsync(ct))
            if (await CommandAction.OrNullAsync(client.StatusAsync(container.Id, ct)) is { Status: ProcessStatus.Running or ProcessStatus.Paused })
                running.Add(container.Id);
        return running.ToArray();
    }

    private static async Task<IReadOnlyDictionary<string, ContainerStats>> SampleAsync(IContainerClient client, string[] ids, CancellationToken ct)
    {
        var samples = new Dictionary<string, ContainerStats>();
        foreach (var id in ids) samples[id] = await client.StatsAsync(id, ct);
        return samples;
    }
}
