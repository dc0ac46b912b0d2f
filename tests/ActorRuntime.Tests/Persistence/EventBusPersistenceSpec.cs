using ActorRuntime.Store;
using ActorRuntime.Testing;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;
using static ActorRuntime.Events.EventBusProtocol;
using static ActorRuntime.Tests.Persistence.PersistentBusRuns;

namespace ActorRuntime.Tests.Persistence;

/// <summary>
/// The persistent EventBus across ActorSystem restarts, on each store: a SQLite file in a temp directory and a real
/// PostgreSQL 15 on loopback (a fresh database per test). <see cref="PersistentBusRuns"/> drives the bus; the assertions are here.
/// </summary>
public sealed class EventBusPersistenceSpec(PostgreSqlServer postgres, ITestOutputHelper output)
    : IClassFixture<PostgreSqlServer>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ar-persistence-").FullName;

    [Theory]
    [InlineData(PersistenceProvider.Sqlite, 500)]
    [InlineData(PersistenceProvider.Sqlite, 3)] // run 2 recovers from a snapshot
    [InlineData(PersistenceProvider.PostgreSql, 3)]
    public async Task An_exit_and_delete_published_before_a_restart_are_dropped_after_it(PersistenceProvider store, int snapshotEvery)
    {
        var run = await RepublishExitsAfterARestartAsync(await FreshStoreAsync(store), snapshotEvery);

        // Run 1: every event is delivered, offsets increase and none repeats; a repeated exit within the run is dropped.
        Assert.All(run.Run1, p => Assert.Equal(PublishOutcome.Delivered, p.Outcome));
        var offsets = run.Run1.Select(p => p.Event.Offset).ToList();
        Assert.Equal(offsets.Order(), offsets);
        Assert.Equal(offsets.Count, offsets.Distinct().Count());
        Assert.Equal(PublishOutcome.DroppedDuplicate, run.Run1Repeat.Outcome);

        // Run 2: each exit and delete published again, with its pid or as a 255, is dropped as a duplicate.
        Assert.All(run.Run2Republished, r => Assert.True(r.Answer.Outcome == PublishOutcome.DroppedDuplicate,
            $"{r.Sent.Topic} {r.Sent.ContainerId} pid {r.Sent.Pid} after restart: {r.Answer.Outcome}"));

        // A new container's exit is delivered with an offset above run 1's, and is all a subscriber from there receives.
        Assert.Equal(PublishOutcome.Delivered, run.Fresh.Outcome);
        Assert.True(run.Fresh.Event.Offset > offsets[^1], $"offset {run.Fresh.Event.Offset} after restart is not above {offsets[^1]}");
        Assert.Equal(new[] { ("new", run.Fresh.Event.Offset) }, run.Live.Select(e => (e.ContainerId, e.Offset)));
    }

    [Theory]
    [InlineData(PersistenceProvider.Sqlite, 500)]
    [InlineData(PersistenceProvider.Sqlite, 4)] // run 2 recovers from a snapshot
    [InlineData(PersistenceProvider.PostgreSql, 4)]
    public async Task A_subscriber_from_offset_N_gets_exactly_the_later_events_then_live_ones_across_a_restart(
        PersistenceProvider store, int snapshotEvery)
    {
        const int newCount = 40;
        // Run 1 delivers old1..old20; run 2 subscribes from old10's offset while new1..new40 are being published.
        var run = await ResumeAfterARestartAsync(await FreshStoreAsync(store), snapshotEvery, run1Count: 20, resumeAfter: 10,
            newCount, filter: "event.container_id~=\"^old1\"", filteredCount: 11);

        // old11..old20, then all the new ones, in publish order, each once, none missing, nothing more.
        var expected = run.Run1.Skip(10).Select(e => e.ContainerId).Concat(Enumerable.Range(1, newCount).Select(i => $"new{i}"));
        Assert.Equal(expected, run.Resumed.Select(e => e.ContainerId));
        Assert.Equal(run.Run1.Skip(10).Select(e => e.Offset), run.Resumed.Take(10).Select(e => e.Offset));
        for (var i = 1; i < run.Resumed.Count; i++)
            Assert.True(run.Resumed[i].Offset > run.Resumed[i - 1].Offset, $"offset {run.Resumed[i].Offset} after {run.Resumed[i - 1].Offset}");
        Assert.True(run.Resumed[0].Offset > run.After);

        // The filtered subscriber from 0: old1, old10..old19 in run 1's order, each once, nothing more.
        Assert.Equal(run.Run1.Where(e => e.ContainerId.StartsWith("old1", StringComparison.Ordinal)).Select(e => (e.ContainerId, e.Offset)),
            run.Filtered.Select(e => (e.ContainerId, e.Offset)));
    }

    /// <summary>
    /// With the default 1,000: c1..c300 are written, a slow subscriber from c100's offset holds its replay up until
    /// c650 is published, then acks slowly while c651..c1000 are. It must receive c101..c1000, each exactly once, in
    /// order. PostgreSQL runs 200: the fixture turns connection pooling off, so each write opens a connection.
    /// </summary>
    [Theory]
    [InlineData(PersistenceProvider.Sqlite, 1000)]
    [InlineData(PersistenceProvider.PostgreSql, 200)]
    public async Task A_slow_subscriber_from_an_earlier_offset_gets_every_later_event_once_in_order_while_events_keep_coming(
        PersistenceProvider store, int total)
    {
        int before = total * 3 / 10, skipped = total / 10;
        var run = await SlowSubscriberAcrossTheSwitchAsync(await FreshStoreAsync(store), before, skipped, total);
        output.WriteLine($"{run.Received.Count} events received in {run.Elapsed.TotalMilliseconds:0} ms ({before - skipped} replayed, then live)");

        // The acked publishes show the offsets are consecutive in publish order.
        Assert.All(run.Acked, a => Assert.Equal(run.OffsetBeforeFirst + a.Index, a.Offset));
        var expected = Enumerable.Range(skipped + 1, total - skipped).Select(i => (run.OffsetBeforeFirst + i, $"c{i}"));
        Assert.Equal(expected, run.Received.Select(e => (e.Offset, e.ContainerId)));
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
