using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace ActorRuntime.Cli;

/// <summary>A column of a table for people: its header and how a row shows in it.</summary>
internal sealed record Column<T>(string Header, Func<T, string> Cell);

/// <summary>
/// What a command prints: tables (and key/value grids) for people through Spectre.Console, or with --json the same rows
/// as JSON for scripts (an array for tables, one object per line for streams). Errors never come here: they go to stderr.
/// </summary>
internal sealed class Output(bool json, IAnsiConsole console, TextWriter stdout)
{
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Piped into a script or a file, a table is as wide as its rows: no wrapping at the default 80 columns.</summary>
    public const int RedirectedWidth = 4096;

    public static Output Console(bool json)
    {
        var console = AnsiConsole.Console;
        if (System.Console.IsOutputRedirected) console.Profile.Width = RedirectedWidth;
        return new(json, console, System.Console.Out);
    }

    public bool Json => json;

    public void Table<T>(IReadOnlyList<T> rows, params Column<T>[] columns)
    {
        if (json)
        {
            WriteJson(rows);
            return;
        }
        console.Write(BuildTable(rows, columns));
    }

    public static Table BuildTable<T>(IReadOnlyList<T> rows, IReadOnlyList<Column<T>> columns)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var column in columns) table.AddColumn(new TableColumn(Markup.Escape(column.Header)).NoWrap());
        foreach (var row in rows) table.AddRow(columns.Select(c => (Spectre.Console.Rendering.IRenderable)new Text(c.Cell(row))).ToArray());
        return table;
    }

    /// <summary>One record: a two-column grid for people, one JSON object for scripts.</summary>
    public void Record<T>(T value, params Column<T>[] fields)
    {
        if (json)
        {
            WriteJson(value);
            return;
        }
        var grid = new Grid().AddColumn().AddColumn();
        foreach (var field in fields) grid.AddRow(new Text(field.Header + ":"), new Text(field.Cell(value)));
        console.Write(grid);
    }

    /// <summary>A stream's item (events, stats): one JSON object per line, or a line for people.</summary>
    public void Item<T>(T value, Func<T, string> line)
    {
        if (json) WriteJson(value);
        else stdout.WriteLine(line(value));
        stdout.Flush();
    }

    public void Line(string text)
    {
        stdout.WriteLine(text);
        stdout.Flush();
    }

    public void WriteJson<T>(T value)
    {
        stdout.WriteLine(JsonSerializer.Serialize(value, JsonOptions));
        stdout.Flush();
    }
}
