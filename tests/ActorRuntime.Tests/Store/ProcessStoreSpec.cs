using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Store;

/// <summary>The durable record of tasks and execs that tells a restarted runtime which exits are still owed.</summary>
public sealed class ProcessStoreSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(
    """
    akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
    akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
    """, output)
{
    private static ProcessRecord Task(string id, string execId = "") => new("ns", id, execId, "/b/" + id, Stdio.Null);

    [Fact]
    public void Only_changes_become_events_and_forgetting_a_task_forgets_its_execs()
    {
        var state = ProcessStoreState.Empty;
        foreach (var r in new[] { Task("a").Created(10), Task("a", "e1").Started(11), Task("b").Started(20) })
            state = state.Apply(Assert.Single(state.Decide(new ProcessStoreProtocol.Record(r)).Events));
        Assert.Empty(state.Decide(new ProcessStoreProtocol.Record(Task("b").Started(20))).Events);
        Assert.Empty(state.Decide(new ProcessStoreProtocol.ForgetExec("ns", "a", "nope")).Events);

        var containers = state.Containers().ToDictionary(c => c.Task.ContainerId);
        Assert.Equal(["e1"], containers["a"].Execs.Select(e => e.ExecId));
        Assert.Empty(containers["b"].Execs);

        state = state.Apply(Assert.Single(state.Decide(new ProcessStoreProtocol.Forget("ns", "a")).Events));
        Assert.Equal(["b"], state.Tasks.Keys.Select(k => k.ContainerId));
    }

    [Fact]
    public void The_same_container_id_in_two_namespaces_keeps_two_records_and_a_forget_takes_only_its_own()
    {
        var state = ProcessStoreState.Of([Task("a"), Task("a", "e1"), Task("a") with { Namespace = "other" }]);
        Assert.Equal(3, state.Tasks.Count);
        var forgotten = Assert.Single(state.Decide(new ProcessStoreProtocol.Forget("other", "a")).Events);
        Assert.Equal([new ActorRuntime.Events.RunKey("other", "a", "")], state.Forgotten(forgotten).Select(r => r.Key));
        state = state.Apply(forgotten);
        Assert.Equal([("ns", "a", ""), ("ns", "a", "e1")], state.Tasks.Keys.Order());
    }

    [Fact]
    public void A_published_exit_and_a_settled_run_change_only_the_same_run_s_record()
    {
        var at = DateTimeOffset.UnixEpoch.AddDays(1);
        var state = ProcessStoreState.Of([Task("a").Started(10), Task("a", "e1").Started(11)]);

        // The settling witness's figures are taken by a record that had none; a later run's record (pid 20) is left alone.
        var published = Assert.Single(state.Decide(new ProcessStoreProtocol.ExitPublished(Task("a").Started(10).Exited(255, at))).Events);
        state = state.Apply(published);
        Assert.Equal(Task("a").Started(10).Exited(255, at) with { ExitPublished = true }, state.Tasks[("ns", "a", "")]);
        Assert.Empty(state.Decide(new ProcessStoreProtocol.ExitPublished(Task("a").Started(10).Exited(3, at))).Events);
        Assert.Empty(state.Decide(new ProcessStoreProtocol.ExitPublished(Task("a", "e1").Started(99).Exited(3, at))).Events);
        Assert.Empty(state.Decide(new ProcessStoreProtocol.ForgetRun(Task("a").Started(20))).Events);

        // A recorded real exit is never overwritten by the figures a settling witness made up.
        var exec = ProcessStoreState.Of([Task("a", "e1").Started(11).Exited(3, at)]);
        exec = exec.Apply(Assert.Single(exec.Decide(new ProcessStoreProtocol.ExitPublished(Task("a", "e1").Started(11).Exited(255, at))).Events));
        Assert.Equal((3u, true), (exec.Tasks[("ns", "a", "e1")].ExitStatus, exec.Tasks[("ns", "a", "e1")].ExitPublished));

        state = state.Apply(Assert.Single(state.Decide(new ProcessStoreProtocol.ForgetRun(Task("a", "e1").Started(11))).Events));
        Assert.Equal([("ns", "a", "")], state.Tasks.Keys);
        state = state.Apply(Assert.Single(state.Decide(new ProcessStoreProtocol.ForgetRun(Task("a").Started(10))).Events));
        Assert.Empty(state.Tasks);
    }

    [Fact]
    public async Task Records_survive_a_restart_with_their_exit_status()
    {
        var store = Sys.ActorOf(ProcessStore.Props("ns"));
        var exited = Task("a").Started(10).Exited(3, DateTimeOffset.UnixEpoch.AddDays(1));
        store.Tell(new ProcessStoreProtocol.Record(exited));
        store.Tell(new ProcessStoreProtocol.Record(Task("a", "e1").Started(11)));
        store.Tell(new ProcessStoreProtocol.Record(Task("b").Started(20)));
        store.Tell(new ProcessStoreProtocol.ForgetExec("ns", "a", "e1"));
        store.Tell(new ProcessStoreProtocol.Forget("ns", "b"));
        await store.Ask<ProcessStoreProtocol.All>(new ProcessStoreProtocol.GetAll());

        Watch(store);
        store.Tell(PoisonPill.Instance);
        await ExpectTerminatedAsync(store);
        var recovered = Sys.ActorOf(ProcessStore.Props("ns"));
        var all = await recovered.Ask<ProcessStoreProtocol.All>(new ProcessStoreProtocol.GetAll());
        Assert.Equal(exited, Assert.Single(all.Tasks));
    }
}
