using ActorRuntime.Containers;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using static ActorRuntime.Cluster.NodeFenceProtocol;

namespace ActorRuntime.Cluster;

/// <summary>
/// What a node does in cluster mode before its runtime loads its shims: it asks the <see cref="NodeLossWarden"/> whether
/// it was given up while away, and if so kills and cleans up those containers — through the one dead-shim cleanup, with
/// nothing owed and nothing published (the cluster published their exit and delete already) — forgets their process
/// records and container records, and only then says it is fenced. A start that dies half-way asks again and gets the
/// same orders: each step is safe to repeat.
/// </summary>
public sealed class NodeReturn(
    IActorRef warden,
    string node,
    long uid,
    ShimSettings shims,
    IShimLauncher launcher,
    IActorRef processes,
    IActorRef containers,
    PersistenceBackoff backoff,
    ContainerOwners owners,
    ILogger log)
{
    public async Task FenceAsync(CancellationToken ct)
    {
        var timeout = shims.Runtime.CallTimeout;
        var orders = await backoff.AskUntilAnsweredAsync<FenceOrders>(warden, new Returning(node, uid, DateTimeOffset.UtcNow), timeout, ct,
            e => log.LogWarning("node {Node}: the node-loss warden has not answered yet ({Error}); loading waits for it", node, e.Message))
            .ConfigureAwait(false);
        if (orders.Containers.Count == 0) return;
        log.LogWarning("node {Node} was given up while away: fencing {Count} containers before serving ({Ids})", node,
            orders.Containers.Count, string.Join(", ", orders.Containers));
        foreach (var container in orders.Containers) await FenceAsync(container, timeout, ct).ConfigureAwait(false);
        await backoff.AskUntilAnsweredAsync<FenceLifted>(warden, new ReportFenced(node, uid, DateTimeOffset.UtcNow), timeout, ct,
            e => log.LogWarning("node {Node}: the node-loss warden has not heard it is fenced yet ({Error})", node, e.Message))
            .ConfigureAwait(false);
    }

    private async Task FenceAsync(ContainerKey container, TimeSpan timeout, CancellationToken ct)
    {
        var bundle = Bundle.TryLoad(shims.StateDirectory, container.Namespace, container.Id);
        await DeadShimCleanup.CleanUpAsync(bundle, launcher, shims.Runtime.CleanupTimeout, log).ConfigureAwait(false);
        // Every step repeats safely: the warden gives the same orders until it hears ReportFenced.
        await backoff.AskUntilAnsweredAsync<ProcessStoreProtocol.Forgotten>(processes,
            new ProcessStoreProtocol.Forget(container.Namespace, container.Id, WantAck: true), timeout, ct).ConfigureAwait(false);
        // NotFound (a container already gone) is an answer like Deleted.
        await backoff.AskUntilAnsweredAsync<object>(containers, new ContainerStoreProtocol.Delete(container.Namespace, container.Id),
            timeout, ct).ConfigureAwait(false);
        // The warden's fence frees the id too, but only while it holds the orders: freed here before the orders are lifted.
        await backoff.UntilDoneAsync(async () =>
        {
            await owners.ReleaseIfOwnedAsync(container.Namespace, container.Id, node, ct).ConfigureAwait(false);
            return true;
        }, ct, e => log.LogWarning("node {Node}: {Container} not freed in the ownership map yet ({Error})", node, container, e.Message))
            .ConfigureAwait(false);
        log.LogInformation("node {Node}: fenced {Container}", node, container);
    }
}
