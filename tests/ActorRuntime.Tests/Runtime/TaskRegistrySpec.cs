using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Runtime;

/// <summary>The durable record of tasks and execs that tells a restarted runtime which exits are still owed.</summary>
public sealed class TaskRegistrySpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(
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
            state = state.Apply(state.Decide(new ProcessStoreProtocol.Record(r))!);
        Assert.Null(state.Decide(new ProcessStoreProtocol.Record(Task("b").Started(20))));
        Assert.Null(state.Decide(new ProcessStoreProtocol.ForgetExec("ns", "a", "nope")));

        var containers = state.Containers().ToDictionary(c => c.Task.ContainerId);
        Assert.Equal(["e1"], containers["a"].Execs.Select(e => e.ExecId));
        Assert.Empty(containers["b"].Execs);

        state = state.Apply(state.Decide(new ProcessStoreProtocol.Forget("ns", "a"))!);
        Assert.Equal(["b"], state.Tasks.Keys.Select(k => k.ContainerId));
    }

    [Fact]
    public async Task Records_survive_a_restart_with_their_exit_status()
    {
        var registry = Sys.ActorOf(ProcessStore.Props("ns"));
        var exited = Task("a").Started(10).Exited(3, DateTimeOffset.UnixEpoch.AddDays(1));
        registry.Tell(new ProcessStoreProtocol.Record(exited));
        registry.Tell(new ProcessStoreProtocol.Record(Task("a", "e1").Started(11)));
        registry.Tell(new ProcessStoreProtocol.Record(Task("b").Started(20)));
        registry.Tell(new ProcessStoreProtocol.ForgetExec("ns", "a", "e1"));
        registry.Tell(new ProcessStoreProtocol.Forget("ns", "b"));
        await registry.Ask<ProcessStoreProtocol.All>(new ProcessStoreProtocol.GetAll());

        Watch(registry);
        registry.Tell(PoisonPill.Instance);
        await ExpectTerminatedAsync(registry);
        var recovered = Sys.ActorOf(ProcessStore.Props("ns"));
        var all = await recovered.Ask<ProcessStoreProtocol.All>(new ProcessStoreProtocol.GetAll());
        Assert.Equal(exited, Assert.Single(all.Tasks));
    }
}
