using ActorRuntime.Configuration;
using ActorRuntime.Hosting;
using ActorRuntime.Store;
using Akka.Configuration;

namespace ActorRuntime.Tests.Store;

/// <summary>The one provider parser, the one SQLite synchronous parser and the one HOCON quoting every rendered setting goes through.</summary>
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

    [Fact]
    public void The_sqlite_synchronous_level_is_normal_by_default_read_from_hocon_and_the_option_wins_over_hocon()
    {
        Assert.Equal(SqliteSynchronous.Normal, PersistenceSettings.Create(new ActorRuntimeOptions()).Synchronous);
        Assert.Equal(SqliteSynchronous.Full,
            PersistenceSettings.Create(ConfigurationFactory.ParseString("actor-runtime.persistence.sqlite-synchronous = full")).Synchronous);
        Assert.Equal(SqliteSynchronous.Normal,
            PersistenceSettings.Create(ConfigurationFactory.ParseString("actor-runtime.persistence.sqlite-synchronous = \" Normal \"")).Synchronous);

        var full = new ActorRuntimeOptions { Persistence = new PersistenceOptions { SqliteSynchronous = SqliteSynchronous.Full } };
        Assert.Equal(SqliteSynchronous.Full, PersistenceSettings.Create(full).Synchronous);
        Assert.Equal(SqliteSynchronous.Full, PersistenceSettings.Create(RuntimeTopology.Config(full)).Synchronous);
        // The option is laid over whatever hocon says, as every option is.
        var normal = new ActorRuntimeOptions { Persistence = new PersistenceOptions { SqliteSynchronous = SqliteSynchronous.Normal } };
        var overHocon = RuntimeTopology.Overrides(normal)
            .WithFallback(ConfigurationFactory.ParseString("actor-runtime.persistence.sqlite-synchronous = full"))
            .WithFallback(RuntimeTopology.Defaults);
        Assert.Equal(SqliteSynchronous.Normal, PersistenceSettings.Create(overHocon).Synchronous);
    }

    [Fact]
    public void An_unknown_sqlite_synchronous_level_is_refused_naming_the_setting_and_the_value()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            PersistenceSettings.Create(ConfigurationFactory.ParseString("actor-runtime.persistence.sqlite-synchronous = off")));
        Assert.Equal("actor-runtime.persistence.sqlite-synchronous: unknown SQLite synchronous level \"off\" (normal or full)", e.Message);
        Assert.Throws<ArgumentException>(() => RuntimeTopology.Setup(new ActorRuntimeOptions(),
            ConfigurationFactory.ParseString("actor-runtime.persistence.sqlite-synchronous = extra").WithFallback(RuntimeTopology.Defaults)));
    }
}
