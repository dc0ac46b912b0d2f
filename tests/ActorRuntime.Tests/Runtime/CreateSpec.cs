using ActorRuntime.Events;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;
using ActorRuntime.TestKit;
using Akka.Actor;
using Xunit.Abstractions;
using Methods = ActorRuntime.Protocol.Shim.TaskApi.Methods;

namespace ActorRuntime.Tests.Runtime;

/// <summary>Create is forwarded like every command and answered where the answer is made; the bundle directory decides "already exists".</summary>
public sealed class CreateSpec(ITestOutputHelper output) : RuntimeSpecBase(output)
{
    private static TaskProtocol.Create Create(string id) => new(id, Spec, [], Stdio.Null);

    [Fact]
    public async Task The_create_reply_comes_from_the_task_actor_and_the_task_is_listed_by_then()
    {
        var caller = CreateTestProbe();
        Manager.Tell(InDefault(Create("c1")), caller.Ref);

        var created = await caller.ExpectMsgAsync<TaskProtocol.Created>(Bound);
        Assert.Equal(Launcher["c1"].PidOf("c1"), created.Pid);
        var from = caller.LastSender.Path;
        Assert.Equal("task", from.Name);
        Assert.StartsWith($"shim-{Runtime.Namespace}~c1-", from.Parent.Name);
        Assert.Equal(Manager.Path, from.Parent.Parent);
        // Registered reached the manager before the reply left the task actor.
        Assert.Equal(["c1"], await Runtime.ListAsync());
    }

    [Fact]
    public async Task A_Create_the_shim_refuses_is_answered_by_the_shim_actor_once_shim_and_bundle_are_gone()
    {
        Launcher.Configure = s => s.Inject(Methods.Create, new ShimFault.Fail(TtrpcCode.Unknown, "OCI runtime create failed: boom"));
        var caller = CreateTestProbe();
        Manager.Tell(InDefault(Create("c1")), caller.Ref);

        var failed = await caller.ExpectMsgAsync<TaskProtocol.Failed>(Bound);
        Assert.Equal((TtrpcCode.Unknown, "OCI runtime create failed: boom"), (failed.Code, failed.Message));
        Assert.StartsWith($"shim-{Runtime.Namespace}~c1-", caller.LastSender.Path.Name);
        Assert.False(Directory.Exists(BundlePath("c1")));
        Assert.True(Launcher["c1"].IsDead);
        Assert.Empty(await Runtime.ListAsync());

        // Nothing was owed (no task ever existed), and the stop of a shim actor that released its bundle is no death.
        await QuietAsync();
        Assert.Empty(Events);
        Assert.Equal(0, Launcher.DeleteCalls);
    }

    [Fact]
    public async Task A_bundle_directory_already_there_makes_Create_AlreadyExists_and_is_left_alone()
    {
        // Not ours (no shim actor, no record): only the directory says the id is taken.
        var marker = Path.Combine(BundlePath("c1"), "someone-elses");
        Directory.CreateDirectory(BundlePath("c1"));
        await File.WriteAllTextAsync(marker, "");

        var e = await Assert.ThrowsAsync<AlreadyExistsException>(() => Runtime.CreateAsync("c1", Spec, []));
        Assert.Equal("task c1: already exists", e.Message);
        Assert.True(File.Exists(marker));
        Assert.Empty(Launcher.Shims);
        Assert.Equal(0, Launcher.DeleteCalls);
        Assert.Empty(await Runtime.ListAsync());
        await QuietAsync();
        Assert.Empty(Events);
        Assert.True(File.Exists(marker));
    }
}
