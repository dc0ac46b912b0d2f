using ActorRuntime.Cluster;
using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Store;
using ActorRuntime.Testing;
using Akka.Actor;
using Microsoft.Data.Sqlite;
using static ActorRuntime.Events.EventBusProtocol;
using static ActorRuntime.Tests.Persistence.PersistentBusHarness;

namespace ActorRuntime.Tests.Persistence;

/// <summary>
/// The cluster's fence of a lost node's event bus, on each real journal: the bus keeps running (a node that thawed
/// after its grace period, unaware it was given up), the fence writes into the bus's journal, and the bus's next write is
/// refused; once it has recovered, each exit it offers of a given-up container is a duplicate. What a subscriber from
/// offset 0 receives is counted as delivered, never de-duplicated.
/// </summary>
public sealed class BusFenceSpec(PostgreSqlServer postgres) : IClassFixture<PostgreSqlServer>, IDisposable
{
    private static readonly ContainerKey A = new("moby", "a");
    private static readonly ContainerKey B = new("moby", "b");
    private readonly string _dir = Directory.CreateTempSubdirectory("ar-bus-fence-").FullName;

    /// <summary>Spawns the fence as its child, as a node's <see cref="NodeFence"/> does, and hands on its one answer (or its stop).</summary>
    private sealed class FenceParent : ReceiveActor
    {
        public FenceParent(Props fence, TaskCompletionSource<BusFence.Fenced> answer)
        {
            var child = Context.Watch(Context.ActorOf(fence, "bus-fence"));
            Receive<BusFence.Fenced>(f => answer.TrySetResult(f));
            Receive<Terminated>(t => answer.TrySetException(new InvalidOperationException($"{t.ActorRef} stopped without fencing")));
        }
    }

    [Theory]
    [InlineData(PersistenceProvider.Sqlite)]
    [InlineData(PersistenceProvider.PostgreSql)]
    public async Task A_bus_still_running_after_its_fence_has_its_next_write_refused_and_then_drops_every_exit_of_what_was_given_up(
        PersistenceProvider store)
    {
        await using var run = Start(await FreshStoreAsync(store), $"bus-fence-{store}".ToLowerInvariant());
        foreach (var e in new[] { Ev(Topics.Create, "a", 100), Ev(Topics.Start, "a", 100), Ev(Topics.Create, "b", 200),
                     Ev(Topics.Start, "b", 200), Ev(Topics.Exit, "b", 200, 137) })
            Assert.Equal(PublishOutcome.Delivered, (await run.PublishAsync(e)).Outcome);

        // b's exit was delivered before the fence: the cluster publishes only its delete, repeating it. A second fence
        // (the give-up retried after the first fence's write) reports the same, not the first fence's own mark.
        foreach (var attempt in new[] { 1, 2 })
        {
            var answer = new TaskCompletionSource<BusFence.Fenced>(TaskCreationOptions.RunContinuationsAsynchronously);
            run.System.ActorOf(Props.Create(() => new FenceParent(BusFence.Props("event-bus", new[] { A, B }, DateTimeOffset.UtcNow), answer)));
            var fenced = await answer.Task.WaitAsync(PersistentBusHarness.Timeout);
            Assert.True(fenced.Exited.Select(e => (e.Container, e.ExitStatus)).SequenceEqual([(B, 137u)]),
                $"fence {attempt}: {string.Join(", ", fenced.Exited)}");
        }

        // The bus, unaware: its next write takes the sequence number the fence took, and is refused.
        var refused = await Record.ExceptionAsync(() => run.PublishAsync(Ev(Topics.Exit, "a", 100, 137)));
        Assert.NotNull(refused);
        // Offered again, as the shim's exit is until it is answered: a duplicate of the given-up run now, and so is each later copy.
        Assert.Equal(PublishOutcome.DroppedDuplicate, (await UntilAnsweredAsync(run, Ev(Topics.Exit, "a", 100, 137))).Outcome);
        Assert.Equal(PublishOutcome.DroppedDuplicate, (await UntilAnsweredAsync(run, Ev(Topics.Delete, "a", 100, 137))).Outcome);
        Assert.Equal(PublishOutcome.DroppedDuplicate, (await UntilAnsweredAsync(run, Ev(Topics.Delete, "b", 200, 137))).Outcome);
        // Its other containers' events go on (none is given up here but a and b).
        Assert.Equal(PublishOutcome.Delivered, (await UntilAnsweredAsync(run, Ev(Topics.Create, "c", 300))).Outcome);

        var received = await ReceivedAsync(await run.SubscribeFromAsync(0), 6);
        Assert.Equal(["create a", "start a", "create b", "start b", "exit b", "create c"],
            received.Select(e => $"{e.Topic.Replace("/tasks/", "")} {e.ContainerId}"));
    }

    /// <summary>Publishes until the bus answers (it is down for its back-off after a refused write).</summary>
    private static async Task<Published> UntilAnsweredAsync(PersistentBusHarness run, TaskEvent e)
    {
        using var deadline = new CancellationTokenSource(PersistentBusHarness.Timeout);
        while (true)
        {
            try
            {
                return await run.PublishAsync(e);
            }
            catch (Exception) when (!deadline.IsCancellationRequested)
            {
                await Task.Delay(100, deadline.Token);
            }
        }
    }

    private async Task<PersistenceSettings> FreshStoreAsync(PersistenceProvider store) => store switch
    {
        PersistenceProvider.Sqlite => new PersistenceSettings(PersistenceProvider.Sqlite,
            $"Data Source={Path.Combine(_dir, "db", PersistenceSettings.DatabaseFileName)}", _dir),
        PersistenceProvider.PostgreSql => await postgres.CreateDatabaseAsync(),
        _ => throw new ArgumentOutOfRangeException(nameof(store), store, null),
    };

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
