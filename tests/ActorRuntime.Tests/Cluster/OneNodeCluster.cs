using System.Net;
using System.Net.Sockets;
using ActorRuntime.Cluster;
using Akka.Actor;
using Akka.Cluster;
using ClusterSettings = ActorRuntime.Cluster.ClusterSettings;

namespace ActorRuntime.Tests.Cluster;

/// <summary>Cluster mode for a spec's runtime: one node that seeds itself on a free loopback port.</summary>
internal static class OneNodeCluster
{
    public const string Node = "n1";

    /// <summary>The runtime's cluster settings and the Akka settings they stand for, as HOCON over a spec's runtime.</summary>
    public static string Hocon(string node)
    {
        var port = FreePort();
        var options = new ClusterRuntimeOptions { SeedNodes = [$"127.0.0.1:{port}"], NodeName = node, Port = port };
        return options.ToHocon() + "\n" + ClusterSettings.Create(options).AkkaHocon();
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
