using System.Net;
using System.Net.Sockets;
using ActorRuntime.Cluster;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using ClusterSettings = ActorRuntime.Cluster.ClusterSettings;

namespace ActorRuntime.Tests.Cluster;

/// <summary>Cluster mode for a spec's runtime: one node that seeds itself on a free loopback port.</summary>
internal static class OneNodeCluster
{
    public const string Node = "n1";

    public static Config Config(string node)
    {
        var port = FreePort();
        var options = new ClusterRuntimeOptions { SeedNodes = [$"127.0.0.1:{port}"], NodeName = node, Port = port };
        return ConfigurationFactory.ParseString(options.ToHocon()).WithFallback(ClusterSettings.Create(options).AkkaConfig());
    }

    public static Task UpAsync(ActorSystem system, TimeSpan bound) =>
        EventuallyAsync(() => Akka.Cluster.Cluster.Get(system).State.Members.Any(m => m.Status == MemberStatus.Up),
            "the node to join itself", bound);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
