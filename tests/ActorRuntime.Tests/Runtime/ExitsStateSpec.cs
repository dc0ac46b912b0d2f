using ActorRuntime.Events;
using ActorRuntime.Tasks;
using Source = ActorRuntime.Tasks.ExitWitness.Source;

namespace ActorRuntime.Tests.Runtime;

/// <summary>The rule of <see cref="Exits"/>, as pure transitions: which witness of a process's end enters the bus.</summary>
public sealed class ExitsStateSpec
{
    private static readonly DateTimeOffset At = DateTimeOffset.UnixEpoch.AddDays(1);

    private static ExitWitness Witness(Source from, uint pid, uint status, string execId = "", string containerId = "c1") =>
        new(from, "ns", containerId, execId, pid, status, At, At);

    private static (ExitsState, IReadOnlyList<TaskEvent>) Exit(ExitsState s, ExitWitness w) => s.Witness(w, deleted: false);

    private static (ExitsState, IReadOnlyList<TaskEvent>) Delete(ExitsState s, ExitWitness w) => s.Witness(w, deleted: true);

    [Fact]
    public void The_first_witness_of_a_run_enters_and_later_ones_bring_only_what_is_not_in_yet()
    {
        var (s, first) = Exit(ExitsState.Empty, Witness(Source.Forwarded, 10, 7));
        var (s2, again) = Exit(s, Witness(Source.Forwarded, 10, 7));
        var (s3, waited) = Exit(s2, Witness(Source.Waited, 10, 7));
        var (s4, deleted) = Delete(s3, Witness(Source.DeleteResponse, 10, 7));

        var exit = Assert.Single(first);
        Assert.Equal((Topics.Exit, 10u, 7u), (exit.Topic, exit.Pid, exit.ExitStatus));
        Assert.Empty(again);
        Assert.Empty(waited);
        Assert.Equal(Topics.Delete, Assert.Single(deleted).Topic);
        // Our Delete ended the run: nothing of it is remembered.
        Assert.Empty(s4.Runs);
    }

    [Fact]
    public void A_delete_whose_run_has_no_exit_in_brings_that_exit_first_with_its_figures()
    {
        var (s, events) = Delete(ExitsState.Empty, Witness(Source.Forwarded, 10, 3));
        Assert.Equal([Topics.Exit, Topics.Delete], events.Select(e => e.Topic));
        Assert.All(events, e => Assert.Equal((10u, 3u, (DateTimeOffset?)At), (e.Pid, e.ExitStatus, e.ExitedAt)));

        // The shim forwarded it; our own Delete reply that follows brings nothing new, and ends the run.
        var (s2, ours) = Delete(s, Witness(Source.DeleteResponse, 10, 3));
        Assert.Empty(ours);
        Assert.Empty(s2.Runs);
    }

    [Fact]
    public void A_delete_repeats_the_figures_of_the_exit_in_before_it_rather_than_a_made_up_status()
    {
        var (s, _) = Exit(ExitsState.Empty, Witness(Source.Forwarded, 10, 3));
        var (_, events) = Delete(s, Witness(Source.DeadShim, 10, 255) with { ExitedAt = At.AddMinutes(1) });
        var delete = Assert.Single(events);
        Assert.Equal((Topics.Delete, 10u, 3u, (DateTimeOffset?)At), (delete.Topic, delete.Pid, delete.ExitStatus, delete.ExitedAt));
    }

    [Fact]
    public void A_witness_whose_record_says_the_exit_is_published_enters_no_exit_only_the_delete()
    {
        var published = Witness(Source.Settled, 10, 3) with { ExitPublished = true };
        Assert.Empty(Exit(ExitsState.Empty, published).Item2);
        var delete = Assert.Single(Delete(ExitsState.Empty, published).Item2);
        Assert.Equal((Topics.Delete, 3u), (delete.Topic, delete.ExitStatus));
    }

    [Fact]
    public void A_witness_with_another_pid_is_another_run_and_an_unknown_pid_matches_the_known_one()
    {
        var (s, _) = Exit(ExitsState.Empty, Witness(Source.Waited, 10, 1, execId: "e1"));
        var (s2, unknownPid) = Exit(s, Witness(Source.Lost, 0, 255, execId: "e1"));
        var (_, otherPid) = Exit(s, Witness(Source.Forwarded, 11, 2, execId: "e1"));

        Assert.Empty(unknownPid);
        Assert.Empty(s2.Runs); // a lost exec ends its run
        Assert.Equal((11u, 2u), (Assert.Single(otherPid).Pid, otherPid[0].ExitStatus));
    }

    [Fact]
    public void Ending_a_container_forgets_its_execs_and_leaves_other_containers_alone()
    {
        var s = ExitsState.Empty;
        (s, _) = Exit(s, Witness(Source.Waited, 20, 0, execId: "e1"));
        (s, _) = Exit(s, Witness(Source.Waited, 30, 0, containerId: "c2"));
        (s, _) = Delete(s, Witness(Source.DeadShim, 10, 137));

        Assert.Equal([("ns", "c2", "")], s.Runs.Keys);
        // The id's next run enters again.
        var (_, next) = Exit(s, Witness(Source.Waited, 40, 0));
        Assert.Single(next);
    }

    [Fact]
    public void A_delete_after_the_exit_is_in_agrees_with_that_exit_whatever_its_witness_says()
    {
        // Found by actorruntime-bench soak: the init exited (7, forwarded), then its shim died and the cleanup, which can
        // only say 255, brought the delete.
        var (s, _) = Exit(ExitsState.Empty, Witness(Source.Forwarded, 10, 7));

        var (_, events) = Delete(s, Witness(Source.DeadShim, 10, 255));

        var delete = Assert.Single(events);
        Assert.Equal((Topics.Delete, 10u, 7u, (DateTimeOffset?)At), (delete.Topic, delete.Pid, delete.ExitStatus, delete.ExitedAt));
    }

    [Fact]
    public void A_made_up_status_gives_way_to_the_recorded_real_exit()
    {
        var running = new ProcessRecord("ns", "c1", "", "/b", Stdio.Null).Started(10);
        var exited = running.Exited(3, At);

        var unsure = ExitWitness.Unsure(Source.DeadShim, running, 0, 255, At);
        var recorded = ExitWitness.Unsure(Source.DeadShim, exited, 0, 255, At);

        Assert.Equal((10u, 255u), (unsure.Pid, unsure.ExitStatus));
        Assert.Equal((10u, 3u, (DateTimeOffset?)At), (recorded.Pid, recorded.ExitStatus, recorded.ExitedAt));
    }

    [Fact]
    public void A_late_copy_of_a_run_our_side_ended_enters_nothing_and_leaves_nothing_behind()
    {
        var (ended, ours) = Delete(ExitsState.Empty, Witness(Source.DeleteResponse, 10, 7));
        // The shim's own exit and delete, forwarded while it handled our Delete, arrive after its reply.
        var (s, lateExit) = Exit(ended, Witness(Source.Forwarded, 10, 7));
        var (s2, lateDelete) = Delete(s, Witness(Source.Forwarded, 10, 7));

        Assert.Equal([Topics.Exit, Topics.Delete], ours.Select(e => e.Topic));
        Assert.Empty(lateExit);
        Assert.Empty(lateDelete);
        Assert.Empty(s2.Runs);
        Assert.Equal(10u, Assert.Single(s2.Ended).Value);

        // The id's next run (another pid) is a run of its own.
        var (_, next) = Exit(s2, Witness(Source.Forwarded, 11, 0));
        Assert.Equal(11u, Assert.Single(next).Pid);
    }

    [Fact]
    public void Ended_runs_are_kept_up_to_the_cap_oldest_forgotten_first()
    {
        var s = ExitsState.WithMaxEnded(2);
        foreach (var (id, pid) in new[] { ("c1", 10u), ("c2", 20u), ("c3", 30u) })
            (s, _) = Delete(s, Witness(Source.DeleteResponse, pid, 0, containerId: id));

        Assert.Empty(s.Runs);
        Assert.Equal(["c2", "c3"], s.Ended.Keys.Select(k => k.ContainerId).Order());
        // Forgotten: a copy of c1 enters again here, and the bus drops it as the last line.
        Assert.Equal(2, Delete(s, Witness(Source.Forwarded, 10, 0, containerId: "c1")).Item2.Count);
    }

    [Fact]
    public void A_container_s_end_ends_its_exec_runs_too()
    {
        var (s, _) = Exit(ExitsState.Empty, Witness(Source.Waited, 50, 1, execId: "e1"));
        (s, _) = Delete(s, Witness(Source.DeleteResponse, 10, 0));

        Assert.Empty(s.Runs);
        Assert.Empty(Exit(s, Witness(Source.Forwarded, 50, 1, execId: "e1")).Item2);
    }
}
