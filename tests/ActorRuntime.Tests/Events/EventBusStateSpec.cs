using ActorRuntime.Events;

namespace ActorRuntime.Tests.Events;

public sealed class EventBusStateSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static TaskEvent Ev(string topic, string container = "c1", string exec = "", uint pid = 0, uint status = 0) =>
        new("moby", topic, container, exec, pid, status, topic is Topics.Exit or Topics.Delete ? T0 : null, T0);

    /// <summary>Feeds events through Decide/Apply like the actor does; returns the final state and every decision.</summary>
    private static (EventBusState State, List<PublishDecision> Decisions) Run(EventBusState state, DateTimeOffset now, params TaskEvent[] events)
    {
        var decisions = new List<PublishDecision>();
        foreach (var e in events)
        {
            var d = state.Decide(e, now);
            state = state.Apply(d);
            decisions.Add(d);
        }
        return (state, decisions);
    }

    private static (EventBusState State, List<PublishDecision> Decisions) Run(params TaskEvent[] events) =>
        Run(EventBusState.Empty, T0, events);

    private static List<TaskEvent> Delivered(IEnumerable<PublishDecision> ds) => ds.OfType<EventDelivered>().Select(d => d.Event).ToList();

    private static string Shape(IEnumerable<PublishDecision> ds) => string.Join(" ", ds.Select(d => d switch
    {
        EventDelivered x => $"+{x.Event.Topic.Replace("/tasks/", "")}",
        EventDropped { Reason: DropReason.Duplicate } x => $"dup:{x.Event.Topic.Replace("/tasks/", "")}",
        EventDropped x => $"stale:{x.Event.Topic.Replace("/tasks/", "")}",
        _ => "?",
    }));

    [Fact]
    public void Repeated_exit_and_delete_are_delivered_once_and_offsets_are_consecutive()
    {
        var (state, ds) = Run(
            Ev(Topics.Create, pid: 10), Ev(Topics.Start, pid: 10),
            Ev(Topics.Exit, pid: 10), Ev(Topics.Exit, pid: 10),
            Ev(Topics.Delete, pid: 10), Ev(Topics.Delete, pid: 10), Ev(Topics.Exit, pid: 10));

        Assert.Equal("+create +start +exit dup:exit +delete dup:delete dup:exit", Shape(ds));
        Assert.Equal([1L, 2, 3, 4], Delivered(ds).Select(e => e.Offset));
        Assert.All(ds.OfType<EventDropped>(), d => Assert.Equal(0, d.Event.Offset));
        Assert.Equal(new EventOffset(4), state.LastOffset);
        Assert.Equal(3, state.DroppedDuplicates);
        Assert.Equal(0, state.DroppedStale);
    }

    [Fact]
    public void Exact_repeats_of_create_and_start_are_dropped()
    {
        var (_, ds) = Run(Ev(Topics.Create, pid: 10), Ev(Topics.Create, pid: 10), Ev(Topics.Start, pid: 10), Ev(Topics.Start, pid: 10));
        Assert.Equal("+create dup:create +start dup:start", Shape(ds));
    }

    [Fact]
    public void Other_topics_are_delivered_as_they_come_and_track_no_run()
    {
        var (state, ds) = Run(Ev(Topics.Oom), Ev(Topics.Oom), Ev(Topics.Paused), Ev(Topics.Resumed), Ev(Topics.Checkpointed));
        Assert.Equal("+oom +oom +paused +resumed +checkpointed", Shape(ds));
        Assert.Empty(state.Runs);
    }

    [Fact]
    public void An_event_with_a_payload_is_delivered_as_it_comes_whatever_its_topic_and_touches_no_run()
    {
        var payload = new EventPayload("example.com/Custom", [1, 2]);
        var (state, ds) = Run(Ev("/containers/create") with { Payload = payload }, Ev(Topics.Exit, pid: 9) with { Payload = payload },
            Ev(Topics.Exit, pid: 9) with { Payload = payload }, Ev(Topics.Exit, pid: 9));
        Assert.Equal("+/containers/create +exit +exit +exit", Shape(ds));
        // Only the task event began a run: a payload's copy of the topic did not take the real exit's place.
        Assert.Equal(9u, Assert.Single(state.Runs).Value.Pid);
        Assert.Equal(payload, Delivered(ds)[0].Payload);
    }

    [Fact]
    public void A_delete_that_overtakes_its_exit_still_lets_the_exit_through_once()
    {
        var (_, ds) = Run(
            Ev(Topics.Create, pid: 10), Ev(Topics.Delete, pid: 10, status: 0), Ev(Topics.Exit, pid: 10, status: 0),
            Ev(Topics.Exit, pid: 10), Ev(Topics.Delete, pid: 10));
        Assert.Equal("+create +delete +exit dup:exit dup:delete", Shape(ds));
    }

    [Fact]
    public void An_exit_before_its_create_begins_an_implicit_run_that_the_late_create_completes()
    {
        var (state, ds) = Run(
            Ev(Topics.Exit, pid: 10, status: 3), Ev(Topics.Create, pid: 10), Ev(Topics.Start, pid: 10),
            Ev(Topics.Exit, pid: 10, status: 3), Ev(Topics.Create, pid: 10));
        Assert.Equal("+exit +create +start dup:exit dup:create", Shape(ds));
        var run = state.RunOf(new RunKey("moby", "c1", ""))!;
        Assert.True(run is { Created: true, Started: true, Exited: true, Deleted: false, Pid: 10 });
    }

    [Fact]
    public void Dead_shim_cleanup_after_the_real_exit_publishes_nothing_new()
    {
        // Real exit 0 seen; then the connection closes and cleanupAfterDeadShim publishes exit+delete with 255 / pid 0,
        // and later the same with the delete response's pid and 137; then the real delete is re-sent.
        var (state, ds) = Run(
            Ev(Topics.Create, pid: 10), Ev(Topics.Start, pid: 10), Ev(Topics.Exit, pid: 10, status: 0),
            Ev(Topics.Exit, pid: 0, status: 255), Ev(Topics.Delete, pid: 0, status: 255),
            Ev(Topics.Exit, pid: 10, status: 137), Ev(Topics.Delete, pid: 10, status: 137),
            Ev(Topics.Delete, pid: 10, status: 0));

        Assert.Equal("+create +start +exit dup:exit +delete dup:exit dup:delete dup:delete", Shape(ds));
        var exit = Assert.Single(Delivered(ds), e => e.Topic == Topics.Exit);
        Assert.Equal(0u, exit.ExitStatus);
        Assert.Equal(4, state.DroppedDuplicates);
    }

    [Fact]
    public void Without_a_real_exit_the_synthetic_one_is_delivered_once()
    {
        var (_, ds) = Run(
            Ev(Topics.Create, pid: 10), Ev(Topics.Start, pid: 10),
            Ev(Topics.Exit, pid: 0, status: 255), Ev(Topics.Delete, pid: 0, status: 255),
            Ev(Topics.Exit, pid: 10, status: 0)); // the shim's own exit finally arrives after a retry
        Assert.Equal("+create +start +exit +delete dup:exit", Shape(ds));
        Assert.Equal(255u, Delivered(ds).Single(e => e.Topic == Topics.Exit).ExitStatus);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void An_exec_exit_before_or_after_the_init_exit_is_delivered_exactly_once(bool execFirst)
    {
        TaskEvent[] init = [Ev(Topics.Exit, pid: 10), Ev(Topics.Delete, pid: 10), Ev(Topics.Exit, pid: 10)];
        TaskEvent[] exec = [Ev(Topics.Exit, exec: "e1", pid: 20, status: 1), Ev(Topics.Exit, exec: "e1", pid: 20, status: 1)];
        TaskEvent[] prefix =
        [
            Ev(Topics.Create, pid: 10), Ev(Topics.Start, pid: 10),
            Ev(Topics.ExecAdded, exec: "e1"), Ev(Topics.ExecStarted, exec: "e1", pid: 20),
        ];
        var (_, ds) = Run([.. prefix, .. execFirst ? exec.Concat(init) : init.Concat(exec)]);

        var delivered = Delivered(ds);
        Assert.Single(delivered, e => e is { Topic: Topics.Exit, ExecId: "e1" });
        Assert.Single(delivered, e => e is { Topic: Topics.Exit, ExecId: "" });
        Assert.Single(delivered, e => e is { Topic: Topics.Delete, ExecId: "" });
    }

    [Fact]
    public void A_create_after_the_delete_starts_a_new_run_and_late_events_of_the_old_run_are_stale()
    {
        var (state, ds) = Run(
            Ev(Topics.Create, pid: 10), Ev(Topics.Start, pid: 10), Ev(Topics.Exit, pid: 10), Ev(Topics.Delete, pid: 10),
            Ev(Topics.Create, pid: 20), Ev(Topics.Start, pid: 20),
            Ev(Topics.Exit, pid: 10), Ev(Topics.Delete, pid: 10), Ev(Topics.Create, pid: 10), Ev(Topics.Start, pid: 10),
            Ev(Topics.Exit, pid: 20), Ev(Topics.Delete, pid: 20), Ev(Topics.Exit, pid: 20));

        Assert.Equal(
            "+create +start +exit +delete +create +start stale:exit stale:delete stale:create stale:start +exit +delete dup:exit",
            Shape(ds));
        var run = state.RunOf(new RunKey("moby", "c1", ""))!;
        Assert.Equal(20u, run.Pid);
        Assert.Equal([10u], run.RetiredPids);
        Assert.Equal(4, state.DroppedStale);
    }

    [Fact]
    public void A_re_sent_create_of_the_just_deleted_run_does_not_start_a_new_run()
    {
        var (_, ds) = Run(
            Ev(Topics.Create, pid: 10), Ev(Topics.Exit, pid: 10), Ev(Topics.Delete, pid: 10),
            Ev(Topics.Create, pid: 10), Ev(Topics.Exit, pid: 10));
        Assert.Equal("+create +exit +delete stale:create dup:exit", Shape(ds));
    }

    [Fact]
    public void An_exit_or_delete_with_another_pid_than_the_run_is_stale()
    {
        var (_, ds) = Run(
            Ev(Topics.Create, pid: 10), Ev(Topics.Exit, pid: 11), Ev(Topics.Delete, pid: 11), Ev(Topics.Start, pid: 11),
            Ev(Topics.Exit, pid: 10), Ev(Topics.Delete, pid: 10));
        Assert.Equal("+create stale:exit stale:delete stale:start +exit +delete", Shape(ds));
    }

    [Fact]
    public void A_create_with_a_new_pid_after_a_lost_delete_starts_a_new_run()
    {
        var (_, ds) = Run(
            Ev(Topics.Create, pid: 10), Ev(Topics.Exit, pid: 10), /* delete lost */
            Ev(Topics.Create, pid: 20), Ev(Topics.Exit, pid: 20), Ev(Topics.Delete, pid: 20), Ev(Topics.Delete, pid: 10));
        Assert.Equal("+create +exit +create +exit +delete stale:delete", Shape(ds));
    }

    [Fact]
    public void A_reused_exec_id_gets_a_new_run_and_the_old_exit_stays_stale()
    {
        var (_, ds) = Run(
            Ev(Topics.Create, pid: 10),
            Ev(Topics.ExecAdded, exec: "e1"), Ev(Topics.ExecAdded, exec: "e1"), Ev(Topics.ExecStarted, exec: "e1", pid: 30),
            Ev(Topics.Exit, exec: "e1", pid: 30),
            Ev(Topics.ExecAdded, exec: "e1"), Ev(Topics.ExecStarted, exec: "e1", pid: 31),
            Ev(Topics.Exit, exec: "e1", pid: 30), Ev(Topics.Exit, exec: "e1", pid: 31), Ev(Topics.Exit, exec: "e1", pid: 31));
        Assert.Equal(
            "+create +exec-added dup:exec-added +exec-started +exit +exec-added +exec-started stale:exit +exit dup:exit",
            Shape(ds));
    }

    [Fact]
    public void An_exec_id_reused_under_a_new_init_run_starts_a_new_exec_run_even_if_its_exit_was_lost()
    {
        var (_, ds) = Run(
            Ev(Topics.Create, pid: 10), Ev(Topics.ExecAdded, exec: "e1"), Ev(Topics.ExecStarted, exec: "e1", pid: 30),
            Ev(Topics.Exit, pid: 10), Ev(Topics.Delete, pid: 10), /* e1's exit lost with the shim */
            Ev(Topics.Create, pid: 20), Ev(Topics.ExecAdded, exec: "e1"), Ev(Topics.ExecStarted, exec: "e1", pid: 40),
            Ev(Topics.Exit, exec: "e1", pid: 40));
        Assert.Equal("+create +exec-added +exec-started +exit +delete +create +exec-added +exec-started +exit", Shape(ds));
    }

    [Fact]
    public void Replaying_the_decisions_rebuilds_the_same_state()
    {
        var (state, ds) = Run(
            Ev(Topics.Create, pid: 10), Ev(Topics.Exit, pid: 10), Ev(Topics.Exit, pid: 0, status: 255),
            Ev(Topics.Delete, pid: 10), Ev(Topics.Create, pid: 20), Ev(Topics.Oom), Ev(Topics.Exit, pid: 10));

        var replayed = ds.Aggregate(EventBusState.Empty, (s, d) => s.Apply(d));

        Assert.Equal(state.LastOffset, replayed.LastOffset);
        Assert.Equal(state.LastRunId, replayed.LastRunId);
        Assert.Equal(state.DroppedDuplicates, replayed.DroppedDuplicates);
        Assert.Equal(state.DroppedStale, replayed.DroppedStale);
        Assert.Equal(state.Runs.OrderBy(kv => kv.Key.ToString()), replayed.Runs.OrderBy(kv => kv.Key.ToString()));
    }

    private static RunRelease Released(string container = "c1", string exec = "", uint pid = 0) =>
        new(new RunKey("moby", container, exec), pid);

    private static EventBusState Release(EventBusState state, DateTimeOffset at, params RunRelease[] releases) =>
        state.DecideRelease(releases, at) is { } released ? state.Apply(released) : state;

    [Fact]
    public void A_finished_run_is_kept_until_released_and_forgotten_the_retention_after_that()
    {
        var retention = new RunRetention(TimeSpan.FromMinutes(10));
        var (state, _) = Run(
            Ev(Topics.Create, pid: 10), Ev(Topics.Exit, pid: 10), Ev(Topics.Delete, pid: 10),
            Ev(Topics.Create, container: "c2", pid: 11));

        // Finished long ago but not released: its owner may still offer its exit and delete again after a restart.
        Assert.Null(state.DecidePrune(T0.AddDays(6), retention));
        Assert.IsType<EventDropped>(state.Decide(Ev(Topics.Delete, pid: 10, status: 255), T0.AddDays(6)));

        state = Release(state, T0.AddDays(6), Released(pid: 10));
        Assert.Null(state.DecidePrune(T0.AddDays(6).AddMinutes(9), retention));
        var forgotten = state.DecidePrune(T0.AddDays(6).AddMinutes(10), retention)!;
        Assert.Equal([new RunKey("moby", "c1", "")], forgotten.Keys);
        state = state.Apply(forgotten);
        Assert.Single(state.Runs); // c2 is still running: never forgotten by age

        // The documented trade-off: past the retention a very late duplicate looks like a new (implicit) run.
        var late = state.Decide(Ev(Topics.Exit, pid: 10), T0.AddDays(7));
        Assert.IsType<EventDelivered>(late);
    }

    [Fact]
    public void A_finished_run_nobody_releases_is_forgotten_after_the_hold()
    {
        var retention = new RunRetention(TimeSpan.FromMinutes(10), HoldUnreleasedFor: TimeSpan.FromHours(1));
        var (state, _) = Run(Ev(Topics.Create, pid: 10), Ev(Topics.Exit, pid: 10), Ev(Topics.Delete, pid: 10));

        Assert.Null(state.DecidePrune(T0.AddMinutes(59), retention));
        Assert.Equal([new RunKey("moby", "c1", "")], state.DecidePrune(T0.AddHours(1), retention)!.Keys);
    }

    [Fact]
    public void A_release_names_one_run_by_pid_and_a_released_run_is_not_released_again()
    {
        var (state, _) = Run(Ev(Topics.Create, pid: 10), Ev(Topics.Exit, pid: 10), Ev(Topics.Delete, pid: 10));

        Assert.Null(state.DecideRelease([Released(pid: 99), Released(container: "c9")], T0));
        var released = state.DecideRelease([Released(pid: 10), Released(pid: 0)], T0.AddSeconds(5))!;
        Assert.Equal([(new RunKey("moby", "c1", ""), state.RunOf(new RunKey("moby", "c1", ""))!.RunId)], released.Runs);
        state = state.Apply(released);
        Assert.Equal(T0.AddSeconds(5), state.RunOf(new RunKey("moby", "c1", ""))!.ReleasedAt);
        Assert.Null(state.DecideRelease([Released(pid: 10)], T0.AddSeconds(6)));
    }

    [Fact]
    public void A_delete_after_the_exit_repeats_the_exits_figures_whoever_offers_it()
    {
        var exitedAt = T0.AddSeconds(3);
        var (_, ds) = Run(
            Ev(Topics.Create, pid: 10),
            Ev(Topics.Exit, pid: 10, status: 137) with { ExitedAt = exitedAt },
            // Dead-shim cleanup after a restart cannot know the status: 255, pid unknown, now.
            Ev(Topics.Delete, status: 255) with { ExitedAt = T0.AddMinutes(5) });

        var delete = Delivered(ds).Single(e => e.Topic == Topics.Delete);
        Assert.Equal((10u, 137u, (DateTimeOffset?)exitedAt), (delete.Pid, delete.ExitStatus, delete.ExitedAt));
    }

    [Fact]
    public void Exited_and_orphaned_exec_runs_are_forgotten_too()
    {
        var retention = new RunRetention(TimeSpan.FromMinutes(1));
        var (state, _) = Run(
            Ev(Topics.Create, pid: 10),
            Ev(Topics.ExecAdded, exec: "done"), Ev(Topics.Exit, exec: "done", pid: 30),
            Ev(Topics.ExecAdded, exec: "lost"), Ev(Topics.ExecStarted, exec: "lost", pid: 31),
            Ev(Topics.ExecAdded, exec: "running"),
            Ev(Topics.ExecAdded, exec: "kept"), Ev(Topics.Exit, exec: "kept", pid: 32));
        state = Release(state, T0, Released(exec: "done"));
        (state, _) = Run(state, T0.AddSeconds(30), Ev(Topics.Exit, pid: 10), Ev(Topics.Delete, pid: 10));
        state = Release(state, T0.AddSeconds(30), Released());

        var forgotten = state.DecidePrune(T0.AddMinutes(1), retention)!;
        // "done" exited at T0; "lost" and "running" lost their init (deleted) and were last seen at T0; init was deleted at T0+30s.
        // "kept" exited and is not released: its record may still offer its exit again after a restart.
        Assert.Equal(["done", "lost", "running"], forgotten.Keys.Select(k => k.ExecId).Order());
        state = state.Apply(forgotten);
        var rest = state.DecidePrune(T0.AddSeconds(90), retention)!;
        Assert.Equal([new RunKey("moby", "c1", "")], rest.Keys);
        Assert.NotNull(state.RunOf(new RunKey("moby", "c1", "kept")));
    }

    [Fact]
    public void Over_capacity_the_oldest_finished_runs_go_first_then_the_least_recently_seen()
    {
        var retention = new RunRetention(TimeSpan.FromHours(1), MaxTrackedRuns: 2);
        var (state, _) = Run(EventBusState.Empty, T0, Ev(Topics.Create, container: "live-old", pid: 1));
        (state, _) = Run(state, T0.AddSeconds(1), Ev(Topics.Create, container: "done", pid: 2), Ev(Topics.Delete, container: "done", pid: 2));
        (state, _) = Run(state, T0.AddSeconds(2), Ev(Topics.Create, container: "live-new", pid: 3));
        (state, _) = Run(state, T0.AddSeconds(3), Ev(Topics.Create, container: "live-newest", pid: 4));

        var forgotten = state.DecidePrune(T0.AddSeconds(4), retention)!;
        Assert.Equal(["done", "live-old"], forgotten.Keys.Select(k => k.ContainerId).Order());
    }

    [Fact]
    public void A_run_the_cluster_gave_up_drops_its_nodes_later_exit_and_delete_and_its_exec_exit_but_a_new_create_begins_anew()
    {
        var (state, _) = Run(Ev(Topics.Create, pid: 100), Ev(Topics.Start, pid: 100), Ev(Topics.ExecAdded, exec: "e1"),
            Ev(Topics.ExecStarted, exec: "e1", pid: 101), Ev(Topics.Create, "other", pid: 200));
        var givenUp = state.DecideGiveUp([new RunKey("moby", "c1", "")], 255, T0);
        Assert.Equal([new RunKey("moby", "c1", ""), new RunKey("moby", "c1", "e1")], givenUp.Keys);
        state = state.Apply(givenUp);

        // The node's runtime, unaware, offers what happened meanwhile; a new run of the id (reused) is delivered.
        var (after, decisions) = Run(state, T0, Ev(Topics.Exit, pid: 100, status: 137), Ev(Topics.Delete, pid: 100, status: 137),
            Ev(Topics.Exit, exec: "e1", pid: 101, status: 1), Ev(Topics.Exit, "other", pid: 200, status: 0),
            Ev(Topics.Create, pid: 300), Ev(Topics.Exit, pid: 300, status: 0));
        Assert.Equal("dup:exit dup:delete dup:exit +exit +create +exit", Shape(decisions));
        Assert.Equal(255u, state.RunOf(new RunKey("moby", "c1", ""))!.ExitStatus);
        Assert.Equal(300u, after.RunOf(new RunKey("moby", "c1", ""))!.Pid);
    }

    [Fact]
    public void A_run_given_up_after_its_exit_keeps_that_exits_figures_and_a_container_the_bus_never_saw_is_held_as_ended()
    {
        var (state, _) = Run(Ev(Topics.Create, pid: 100), Ev(Topics.Exit, pid: 100, status: 137));
        state = state.Apply(state.DecideGiveUp([new RunKey("moby", "c1", ""), new RunKey("moby", "unseen", "")], 255, T0.AddMinutes(5)));

        Assert.Equal((137u, T0), (state.RunOf(new RunKey("moby", "c1", ""))!.ExitStatus, state.RunOf(new RunKey("moby", "c1", ""))!.ExitedAt));
        var (_, decisions) = Run(state, T0, Ev(Topics.Delete, pid: 100, status: 137), Ev(Topics.Exit, "unseen", pid: 7, status: 0));
        Assert.Equal("dup:delete dup:exit", Shape(decisions));
    }
}
