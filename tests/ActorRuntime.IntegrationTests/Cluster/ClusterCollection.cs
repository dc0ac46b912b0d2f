namespace ActorRuntime.IntegrationTests.Cluster;

/// <summary>
/// The three-node specs run alone, after the others: Akka's failure detector and split-brain resolver work on
/// wall-clock heartbeats, and with the other integration specs loading the machine's 2 cores at the same time, a killed
/// node's return took more than 60 s in CI.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection
{
    public const string Name = "three-node cluster";
}
