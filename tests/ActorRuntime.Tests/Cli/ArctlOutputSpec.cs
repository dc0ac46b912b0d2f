using System.Text.Json;
using ActorRuntime.Cli;
using ActorRuntime.Cli.Commands;
using ActorRuntime.Client;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;
using Spectre.Console;

namespace ActorRuntime.Tests.Cli;

public sealed class ArctlOutputSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static ContainerInfo Container(string id, IReadOnlyDictionary<string, string>? labels = null) =>
        new(id, """{"process":{"args":["sleep","9"],"terminal":false}}""", NewContainer.RuncV2, null,
            labels ?? new Dictionary<string, string>(), T0, T0);

    private static (Output Output, StringWriter Text) Capture(bool json)
    {
        var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Out = new AnsiConsoleOutput(text),
        });
        console.Profile.Width = Output.RedirectedWidth;
        return (new Output(json, console, text), text);
    }

    [Fact]
    public void Ps_json_is_an_array_of_containers_with_status_pid_and_exit_status()
    {
        var (output, text) = Capture(json: true);
        var rows = new[]
        {
            PsRow.Of(Container("a", new Dictionary<string, string> { ["k"] = "v" }), new TaskStatusInfo("a", 42, ProcessStatus.Running, 0, null)),
            PsRow.Of(Container("b"), new TaskStatusInfo("b", 43, ProcessStatus.Stopped, 7, T0)),
            PsRow.Of(Container("c"), null),
        };

        output.Table(rows, PsRow.Columns);

        var array = JsonDocument.Parse(text.ToString()).RootElement;
        Assert.Equal(3, array.GetArrayLength());
        Assert.Equal(("a", "running", 42u, JsonValueKind.Null, "v"), (array[0].GetProperty("id").GetString(),
            array[0].GetProperty("status").GetString(), array[0].GetProperty("pid").GetUInt32(),
            array[0].GetProperty("exitStatus").ValueKind, array[0].GetProperty("labels").GetProperty("k").GetString()));
        Assert.Equal(("stopped", 7u), (array[1].GetProperty("status").GetString(), array[1].GetProperty("exitStatus").GetUInt32()));
        Assert.Equal(("created", 0u), (array[2].GetProperty("status").GetString(), array[2].GetProperty("pid").GetUInt32()));
    }

    [Fact]
    public void Ps_for_people_is_a_table_with_a_header_and_one_line_per_container()
    {
        var (output, text) = Capture(json: false);

        output.Table([PsRow.Of(Container("a-long-container-id"), new TaskStatusInfo("a", 42, ProcessStatus.Stopped, 3, T0))], PsRow.Columns);

        var lines = text.ToString().Split('\n').Where(l => l.Trim().Length > 0 && !l.Trim().All(c => c == '─')).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Equal(["CONTAINER", "STATUS", "PID", "CREATED", "LABELS"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("a-long-container-id", lines[1]);
        Assert.Contains("stopped (3)", lines[1]);
    }

    [Fact]
    public void Inspect_json_carries_the_spec_as_an_object()
    {
        var (output, text) = Capture(json: true);

        output.Record(InspectCommand.Inspection.Of(Container("a"), null), InspectCommand.Inspection.Fields);

        var inspection = JsonDocument.Parse(text.ToString()).RootElement;
        Assert.Equal("created", inspection.GetProperty("status").GetString());
        Assert.Equal("sleep", inspection.GetProperty("spec").GetProperty("process").GetProperty("args")[0].GetString());
    }

    [Fact]
    public void Events_print_one_json_object_per_line_with_the_offset_and_type()
    {
        var (output, text) = Capture(json: true);

        output.Item(new ContainerEvent(7, "default", ContainerEventKind.Exit, "a", null, 42, 3, T0), EventFilter.Line);
        output.Item(new ContainerEvent(8, "default", ContainerEventKind.ExecAdded, "a", "e1", 0, 0, T0), EventFilter.Line);

        var lines = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([7L, 8L], lines.Select(l => l.GetProperty("offset").GetInt64()));
        Assert.Equal(["exit", "execAdded"], lines.Select(l => l.GetProperty("kind").GetString()));
        Assert.Equal(3u, lines[0].GetProperty("exitStatus").GetUInt32());
    }

    [Fact]
    public void An_event_line_for_people_names_the_type_as_the_topic_does()
    {
        var line = EventFilter.Line(new ContainerEvent(12, "default", ContainerEventKind.ExecStarted, "a", "e1", 99, 0, T0));

        Assert.Contains("exec-started", line);
        Assert.Contains(" a exec=e1 pid=99", line);
        Assert.StartsWith("      12 ", line);
    }

    [Fact]
    public void Event_filters_must_all_hold_and_a_repeated_key_accepts_any_value()
    {
        var filter = EventFilter.Parse(["container=a", "type=exit", "type=start"]);

        Assert.True(filter.Matches(new ContainerEvent(1, "d", ContainerEventKind.Exit, "a", null, 1, 0, T0)));
        Assert.True(filter.Matches(new ContainerEvent(1, "d", ContainerEventKind.Start, "a", null, 1, 0, T0)));
        Assert.False(filter.Matches(new ContainerEvent(1, "d", ContainerEventKind.Exit, "b", null, 1, 0, T0)));
        Assert.False(filter.Matches(new ContainerEvent(1, "d", ContainerEventKind.Paused, "a", null, 1, 0, T0)));
        Assert.True(EventFilter.Parse(["type=exec-added"]).Matches(new ContainerEvent(1, "d", ContainerEventKind.ExecAdded, "a", "e", 0, 0, T0)));
    }

    [Theory]
    [InlineData("colour=red")]
    [InlineData("type=exploded")]
    [InlineData("container")]
    public void A_bad_event_filter_is_an_invalid_argument(string filter) =>
        Assert.Throws<InvalidArgumentException>(() => EventFilter.Parse([filter]));

    [Fact]
    public void Stats_cpu_share_is_the_usage_between_two_samples_over_the_wall_time()
    {
        ContainerStats At(TimeSpan after, ulong cpuNanos) =>
            new("a", T0 + after, 2, cpuNanos, 0, 0, 1 << 20, 0, 0, 3, 0, 10, 20);

        var row = StatsRow.Of(At(TimeSpan.FromSeconds(2), 1_500_000_000), At(TimeSpan.Zero, 500_000_000));

        Assert.Equal(50.0, row.CpuPercent);
        Assert.Equal(0.0, StatsRow.Of(At(TimeSpan.Zero, 500_000_000), null).CpuPercent);
        Assert.Equal("1MiB / -", StatsRow.Columns.Single(c => c.Header.StartsWith("MEM")).Cell(row));
    }

    [Fact]
    public void Top_shows_the_exec_id_and_the_command_line()
    {
        var rows = new[] { new ProcessSummary(10, null), new ProcessSummary(11, "e1") }
            .Select(p => TopRow.Of(p, pid => pid == 10 ? "sleep 100" : null)).ToList();

        Assert.Equal([new TopRow(10, null, "sleep 100"), new TopRow(11, "e1", "")], rows);
    }
}
