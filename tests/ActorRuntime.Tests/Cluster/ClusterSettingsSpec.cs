using ActorRuntime.Cluster;
using ActorRuntime.Configuration;
using ActorRuntime.Daemon;
using ActorRuntime.Hosting;
using ActorRuntime.Store;
using Akka.Actor;
using Akka.Configuration;

namespace ActorRuntime.Tests.Cluster;

/// <summary>Cluster mode's settings: off by default, the shipped defaults, code over HOCON, the daemon's flags, the refusals.</summary>
public sealed class ClusterSettingsSpec
{
    private static ClusterSettings Over(string hocon, ClusterRuntimeOptions? options = null) =>
        ClusterSettings.Create(ConfigurationFactory.ParseString(options?.ToHocon() ?? "").WithFallback(ConfigurationFactory.ParseString(hocon)));

    [Fact]
    public void Without_cluster_settings_the_runtime_is_one_node_with_todays_persistence_ids_and_no_akka_cluster_settings()
    {
        var settings = ClusterSettings.Create(Config.Empty);
        Assert.False(settings.Enabled);
        Assert.True(settings.AkkaConfig().IsEmpty);
        Assert.Null(settings.PersistenceScope);
        Assert.Equal("tasks-default", settings.PersistenceId("tasks-default"));
        // The whole shipped configuration still makes a local actor system.
        Assert.Equal("Akka.Actor.LocalActorRefProvider",
            RuntimeTopology.Config(new ActorRuntimeOptions()).WithFallback(ConfigurationFactory.Default()).GetString("akka.actor.provider"));
    }

    [Fact]
    public void The_shipped_defaults_are_keep_majority_stable_after_20s_a_20s_down_removal_margin_and_a_5_minute_grace_period()
    {
        var settings = Over("actor-runtime.cluster.seed-nodes = [\"10.0.0.1:4053\"]\nactor-runtime.cluster.node-name = a");
        Assert.Equal(("keep-majority", TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(20), TimeSpan.FromMinutes(5)),
            (settings.SplitBrainStrategy, settings.StableAfter, settings.DownRemovalMargin, settings.NodeLostGracePeriod));
        Assert.Equal(("127.0.0.1", 4053), (settings.Host, settings.Port));
        Assert.Equal(TimeSpan.FromSeconds(30), settings.RestartAfterUnsuccessfulJoin);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.AkkaConfig().GetTimeSpan("akka.cluster.shutdown-after-unsuccessful-join-seed-nodes"));
        Assert.Equal(Environment.MachineName.ToLowerInvariant(), Over("actor-runtime.cluster.seed-nodes = [\"h:1\"]").NodeName);
    }

    [Fact]
    public void Options_set_in_code_win_over_hocon_and_hocon_fills_in_what_they_leave_null()
    {
        var settings = Over("""
            actor-runtime.cluster {
              seed-nodes = ["h1:4051"]
              node-name = from-file
              port = 4100
              split-brain-resolver.stable-after = 7s
              node-lost-grace-period = 1m
            }
            """, new ClusterRuntimeOptions
        {
            SeedNodes = ["h2:4052", "akka.tcp://other@h3:4053"],
            NodeName = "from-code",
            StableAfter = TimeSpan.FromSeconds(3),
            SplitBrainStrategy = "keep-oldest",
        });
        Assert.Equal(["h2:4052", "akka.tcp://other@h3:4053"], settings.SeedNodes.ToArray());
        Assert.Equal(("from-code", 4100, "keep-oldest"), (settings.NodeName, settings.Port, settings.SplitBrainStrategy));
        Assert.Equal((TimeSpan.FromSeconds(3), TimeSpan.FromMinutes(1)), (settings.StableAfter, settings.NodeLostGracePeriod));
    }

    [Fact]
    public void Cluster_mode_stands_for_the_cluster_provider_tcp_remoting_the_nodes_role_and_the_split_brain_resolver()
    {
        var settings = ClusterSettings.Create(new ClusterRuntimeOptions
        {
            SeedNodes = ["127.0.0.1:4051"], NodeName = "node-2", Host = "127.0.0.2", Port = 4052, StableAfter = TimeSpan.FromSeconds(5),
            DownRemovalMargin = TimeSpan.FromSeconds(4), RestartAfterUnsuccessfulJoin = TimeSpan.FromSeconds(12),
        });
        var akka = settings.AkkaConfig();
        Assert.Equal("cluster", akka.GetString("akka.actor.provider"));
        Assert.Equal(("127.0.0.2", 4052), (akka.GetString("akka.remote.dot-netty.tcp.hostname"), akka.GetInt("akka.remote.dot-netty.tcp.port")));
        Assert.Equal(["node-node-2"], akka.GetStringList("akka.cluster.roles"));
        Assert.Equal("Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster", akka.GetString("akka.cluster.downing-provider-class"));
        Assert.Equal("keep-majority", akka.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Equal(TimeSpan.FromSeconds(5), akka.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal(TimeSpan.FromSeconds(4), akka.GetTimeSpan("akka.cluster.down-removal-margin"));
        Assert.Equal(TimeSpan.FromSeconds(12), akka.GetTimeSpan("akka.cluster.shutdown-after-unsuccessful-join-seed-nodes"));
        Assert.Equal("akka.tcp://actorruntimed@127.0.0.1:4051", ClusterSettings.SeedAddress("127.0.0.1:4051", "actorruntimed"));
        Assert.Equal("akka.tcp://x@h:1", ClusterSettings.SeedAddress("akka.tcp://x@h:1", "actorruntimed"));
        // Every node writes to the one shared journal: each store's id carries the node.
        Assert.Equal("tasks-default@node-2", settings.PersistenceId("tasks-default"));
    }

    [Theory]
    [InlineData("actor-runtime.cluster.seed-nodes: \"no-port\" is not host:port", "seed-nodes = [\"no-port\"]")]
    [InlineData("actor-runtime.cluster.seed-nodes: \"h:70000\" is not host:port", "seed-nodes = [\"h:70000\"]")]
    [InlineData("unknown strategy \"keep-everything\" (keep-majority,", "seed-nodes = [\"h:1\"]\nsplit-brain-resolver.active-strategy = keep-everything")]
    [InlineData("actor-runtime.cluster.port: 70000 is not a TCP port", "seed-nodes = [\"h:1\"]\nport = 70000")]
    [InlineData("actor-runtime.cluster.node-name", "seed-nodes = [\"h:1\"]\nnode-name = \"has space\"")]
    public void A_bad_cluster_setting_is_refused_naming_the_setting_and_the_value(string expected, string hocon)
    {
        var e = Assert.ThrowsAny<Exception>(() => Over("actor-runtime.cluster {\n" + hocon + "\n}"));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Cluster_mode_on_sqlite_is_refused_at_the_runtimes_start_naming_the_fix()
    {
        var root = Directory.CreateTempSubdirectory("cluster-sqlite-").FullName;
        try
        {
            var options = new ActorRuntimeOptions { RootDirectory = root, StateDirectory = Path.Combine(root, "state") };
            // The seed list alone is cluster mode; the provider is the shipped default, SQLite.
            var config = ConfigurationFactory.ParseString(new ClusterRuntimeOptions { SeedNodes = ["127.0.0.1:1"], NodeName = "n1" }.ToHocon())
                .WithFallback(RuntimeTopology.Config(options));
            using var system = ActorSystem.Create("refused", RuntimeTopology.Setup(options, config));
            var e = Assert.Throws<InvalidOperationException>(() => RuntimeTopology.Start(system, options));
            Assert.Contains("cluster mode (actor-runtime.cluster.seed-nodes is set) needs the shared PostgreSQL journal, not SQLite", e.Message);
            Assert.Contains("actor-runtime.persistence.provider = postgresql", e.Message);
            Assert.Empty(system.Settings.Config.GetStringList("akka.cluster.seed-nodes"));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void On_postgresql_cluster_mode_is_accepted_and_on_sqlite_only_a_single_node_is()
    {
        var cluster = ClusterSettings.Create(new ClusterRuntimeOptions { SeedNodes = ["h:1"], NodeName = "n1" });
        cluster.EnsurePersistence(new PersistenceSettings(PersistenceProvider.PostgreSql, "Host=x", "/r"));
        cluster.EnsurePersistence(new PersistenceSettings(PersistenceProvider.InMemory, "", "/r"));
        ClusterSettings.Create(Config.Empty).EnsurePersistence(new PersistenceSettings(PersistenceProvider.Sqlite, "Data Source=x", "/r"));
        Assert.Throws<InvalidOperationException>(() =>
            cluster.EnsurePersistence(new PersistenceSettings(PersistenceProvider.Sqlite, "Data Source=x", "/r")));
    }

    [Fact]
    public void Actorruntimed_takes_repeated_cluster_seeds_a_node_name_and_the_remoting_host_and_port_as_options()
    {
        var flags = DaemonCommandLine.Parse(["--cluster-seed", "127.0.0.1:4051", "--cluster-seed=127.0.0.1:4052", "--node-name", "n2",
            "--cluster-host", "127.0.0.2", "--cluster-port", "4052"]);
        var options = flags.ToClusterOptions();
        Assert.Equal(["127.0.0.1:4051", "127.0.0.1:4052"], options.SeedNodes!);
        Assert.Equal(("n2", "127.0.0.2", 4052), (options.NodeName, options.Host, options.Port));
        var none = DaemonCommandLine.Parse([]).ToClusterOptions();
        Assert.Equal("", none.ToHocon());
        Assert.False(ClusterSettings.Create(none).Enabled);
    }

    [Theory]
    [InlineData("--cluster-port abc: not a TCP port", "--cluster-port", "abc")]
    [InlineData("--cluster-port 70000: not a TCP port", "--cluster-port", "70000")]
    [InlineData("--cluster-seed needs a value", "--cluster-seed")]
    [InlineData("--node-name must not be empty", "--node-name=")]
    public void A_bad_cluster_flag_is_refused_naming_it(string expected, params string[] args) =>
        Assert.Contains(expected, Assert.Throws<ArgumentException>(() => DaemonCommandLine.Parse(args)).Message);
}
