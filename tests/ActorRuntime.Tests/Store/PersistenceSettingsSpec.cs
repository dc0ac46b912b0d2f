using ActorRuntime.Configuration;
using ActorRuntime.Store;
using Akka.Configuration;

namespace ActorRuntime.Tests.Store;

/// <summary>The one provider parser and the one HOCON quoting every rendered setting goes through.</summary>
public sealed class PersistenceSettingsSpec
{
    // Not round-tripped, whatever the quoting: leading/trailing whitespace, which Akka's HOCON parser trims even when quoted.
    public static TheoryData<string> AwkwardStrings =>
    [
        """C:\state "dir"\""",
        "line one\nline two\r\nline three",
        "tab\there, comma # not a comment // nor this",
        "${not.a.substitution} = { [ ] }",
        "bell\u0007 escape\u001b formfeed\f backspace\b",
        "ünïcödé ✓",
        "",
    ];

    [Theory]
    [MemberData(nameof(AwkwardStrings))]
    public void A_quoted_value_reads_back_exactly(string value)
    {
        Assert.Equal(value, ConfigurationFactory.ParseString($"a.b = {Hocon.Quote(value)}").GetString("a.b"));

        var options = new ActorRuntimeOptions
        {
            RootDirectory = value,
            Persistence = new PersistenceOptions { Provider = PersistenceProvider.PostgreSql, ConnectionString = "Host=x;Password=" + value },
        };
        Assert.Equal(value, RuntimeSettings.Create(options).RootDirectory);
        Assert.Equal("Host=x;Password=" + value, PersistenceSettings.Create(options).ConnectionString);
    }

    [Theory]
    [InlineData("sqlite", PersistenceProvider.Sqlite)]
    [InlineData(" SQLite ", PersistenceProvider.Sqlite)]
    [InlineData("PostgreSQL", PersistenceProvider.PostgreSql)]
    [InlineData("pg", PersistenceProvider.PostgreSql)]
    [InlineData("inmem", PersistenceProvider.InMemory)]
    public void Provider_names_are_read_case_and_space_insensitively(string text, PersistenceProvider expected) =>
        Assert.Equal(expected, PersistenceSettings.ParseProvider(text, "--db-provider"));

    [Fact]
    public void An_unknown_provider_is_refused_naming_the_value_and_where_it_came_from()
    {
        var cli = Assert.Throws<ArgumentException>(() => PersistenceSettings.ParseProvider("mysql", "--db-provider"));
        Assert.Equal("--db-provider: unknown provider \"mysql\" (sqlite, postgresql or inmem)", cli.Message);

        var hocon = Assert.Throws<ArgumentException>(() =>
            PersistenceSettings.Create(ConfigurationFactory.ParseString("actor-runtime.persistence.provider = oracle")));
        Assert.StartsWith("actor-runtime.persistence.provider: unknown provider \"oracle\"", hocon.Message);
    }
}
