using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Cgroups.V1;
using ActorRuntime.Protocol.Events;
using ActorRuntime.Protocol.Runc;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Oci;
using ActorRuntime.Testing;
using ShimStatus = ActorRuntime.Protocol.Types.Status;

namespace ActorRuntime.IntegrationTests;

/// <summary>
/// The Task API of the real containerd-shim-runc-v2 through our ttrpc client, call by call, with our own
/// Events/Forward server checking what the shim publishes.
/// </summary>
public sealed class ShimTaskApiSpec
{
    private static async Task<(ShimTaskClient Client, ConnectResponse Connected, Bundle Bundle)> StartAsync(
        ShimTestEnvironment env, string id, params string[] args)
    {
        var bundle = env.CreateBundle(id, args);
        var address = await env.StartShimAsync(bundle);
        var (client, connected) = await env.ConnectAsync(address, id);
        return (client, connected, bundle);
    }

    private static CreateTaskRequest CreateRequest(ShimTestEnvironment env, Bundle bundle, string stdout = "") => new()
    {
        Id = bundle.Id,
        Bundle = bundle.Path,
        Rootfs = { ShimTestEnvironment.ImageMount() },
        Stdout = stdout,
        Stderr = stdout,
        Options = TypeUrls.Pack(env.Settings.RuncOptions!.ToProtobuf()),
    };

    /// <summary>Delete, Shutdown, wait for the shim to exit, remove the bundle: containerd's normal teardown.</summary>
    private static async Task TearDownAsync(ShimTaskClient client, ConnectResponse connected, Bundle bundle)
    {
        await ShimTestEnvironment.ShutdownAsync(client, bundle.Id);
        await HostProcesses.WaitUntilGoneAsync((int)connected.ShimPid, TimeSpan.FromSeconds(5));
        await client.Connection.DisposeAsync();
        bundle.Delete();
    }

    private static T Payload<T>(ShimTestEnvironment env, string topic, Google.Protobuf.MessageParser<T> parser)
        where T : Google.Protobuf.IMessage<T>, new()
    {
        var envelope = Assert.Single(env.Events, e => e.Topic == topic);
        Assert.True(TypeUrls.TryUnpack(envelope.Event, parser, out var message), $"{topic} carries {envelope.Event.TypeUrl}");
        Assert.Equal(new T().Descriptor.FullName, envelope.Event.TypeUrl); // bare type URL, as the shim sends it
        return message;
    }

    [Fact]
    public async Task Echo_hi_exit_7_goes_through_Create_Start_State_Wait_Delete_Shutdown_with_its_output_and_events()
    {
        await using var env = new ShimTestEnvironment();
        var (client, connected, bundle) = await StartAsync(env, "hi7", "sh", "-c", "echo hi; exit 7");
        var stdout = Path.Combine(env.Root, "hi7.out");
        await File.WriteAllTextAsync(stdout, "");

        var created = await client.CreateAsync(CreateRequest(env, bundle, stdout));
        var state = await client.StateAsync(new StateRequest { Id = "hi7" });
        Assert.Equal(ShimStatus.Created, state.Status);
        Assert.Equal(created.Pid, state.Pid);
        Assert.Equal(bundle.Path, state.Bundle);
        Assert.True(GoTime.IsZero(state.ExitedAt));

        var wait = client.WaitAsync(new WaitRequest { Id = "hi7" });
        var started = await client.StartAsync(new StartRequest { Id = "hi7" });
        Assert.Equal(created.Pid, started.Pid);
        var exited = await wait.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(7u, exited.ExitStatus);
        state = await client.StateAsync(new StateRequest { Id = "hi7" });
        Assert.Equal(ShimStatus.Stopped, state.Status);
        Assert.Equal(7u, state.ExitStatus);

        var deleted = await client.DeleteAsync(new DeleteRequest { Id = "hi7" });
        Assert.Equal(7u, deleted.ExitStatus);
        Assert.Equal(created.Pid, deleted.Pid);
        Assert.Equal("hi\n", await File.ReadAllTextAsync(stdout));
        var gone = await Assert.ThrowsAsync<NotFoundException>(() => client.StateAsync(new StateRequest { Id = "hi7" }));
        Assert.Equal("container not created: not found", gone.Message);
        await TearDownAsync(client, connected, bundle);

        Assert.Equal(["/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"], env.Events.Select(e => e.Topic));
        var create = Payload(env, "/tasks/create", TaskCreate.Parser);
        Assert.Equal(("hi7", bundle.Path, created.Pid, stdout), (create.ContainerId, create.Bundle, create.Pid, create.Io.Stdout));
        var start = Payload(env, "/tasks/start", TaskStart.Parser);
        Assert.Equal(("hi7", created.Pid), (start.ContainerId, start.Pid));
        var exit = Payload(env, "/tasks/exit", TaskExit.Parser);
        Assert.Equal(("hi7", "hi7", created.Pid, 7u), (exit.ContainerId, exit.Id, exit.Pid, exit.ExitStatus));
        Assert.Equal(exited.ExitedAt, exit.ExitedAt);
        var delete = Payload(env, "/tasks/delete", TaskDelete.Parser);
        Assert.Equal(("hi7", created.Pid, 7u), (delete.ContainerId, delete.Pid, delete.ExitStatus));
        await LeakCheck.AssertCleanAsync(env);
    }

    [Fact]
    public async Task Exec_start_wait_and_delete_process_in_a_running_container()
    {
        await using var env = new ShimTestEnvironment();
        var (client, connected, bundle) = await StartAsync(env, "ex", "sleep", "300");
        var output = Path.Combine(env.Root, "ex.out");
        await File.WriteAllTextAsync(output, "");
        var created = await client.CreateAsync(CreateRequest(env, bundle));
        await client.StartAsync(new StartRequest { Id = "ex" });

        await client.ExecAsync(new ExecProcessRequest
        {
            Id = "ex", ExecId = "e1", Stdout = output, Stderr = output,
            Spec = TypeUrls.PackJson(TypeUrls.OciProcess, OciSpec.ProcessJson(["sh", "-c", "echo from exec; exit 5"])),
        });
        var execWait = client.WaitAsync(new WaitRequest { Id = "ex", ExecId = "e1" });
        var execPid = (await client.StartAsync(new StartRequest { Id = "ex", ExecId = "e1" })).Pid;
        Assert.NotEqual(created.Pid, execPid);
        Assert.Equal(5u, (await execWait.WaitAsync(TimeSpan.FromSeconds(10))).ExitStatus);
        var execDeleted = await client.DeleteAsync(new DeleteRequest { Id = "ex", ExecId = "e1" });
        Assert.Equal((execPid, 5u), (execDeleted.Pid, execDeleted.ExitStatus));
        await Assert.ThrowsAsync<NotFoundException>(() => client.StateAsync(new StateRequest { Id = "ex", ExecId = "e1" }));
        Assert.Equal("from exec\n", await File.ReadAllTextAsync(output));

        await client.KillAsync(new KillRequest { Id = "ex", Signal = 9 });
        Assert.Equal(137u, (await client.WaitAsync(new WaitRequest { Id = "ex" }).WaitAsync(TimeSpan.FromSeconds(10))).ExitStatus);
        await client.DeleteAsync(new DeleteRequest { Id = "ex" });
        await TearDownAsync(client, connected, bundle);

        Assert.Contains(env.Events, e => e.Topic == "/tasks/exec-added");
        var execStarted = Payload(env, "/tasks/exec-started", TaskExecStarted.Parser);
        Assert.Equal(("ex", "e1", execPid), (execStarted.ContainerId, execStarted.ExecId, execStarted.Pid));
        var exits = env.Events.Where(e => e.Topic == "/tasks/exit")
            .Select(e => TaskExit.Parser.ParseFrom(e.Event.Value)).ToList();
        Assert.Contains(exits, x => x.Id == "e1" && x.ExitStatus == 5 && x.Pid == execPid);
        Assert.Contains(exits, x => x.Id == "ex" && x.ExitStatus == 137 && x.Pid == created.Pid);
        await LeakCheck.AssertCleanAsync(env);
    }

    [Fact]
    public async Task Pause_and_Resume_show_in_State_and_Pids_Stats_and_Kill_answer_with_real_numbers()
    {
        await using var env = new ShimTestEnvironment();
        // The trap proves Kill delivers the signal we chose: as PID 1, sh only reacts to signals it handles.
        var (client, connected, bundle) = await StartAsync(env, "pr", "sh", "-c", "trap 'exit 42' TERM; while true; do sleep 1; done");
        var created = await client.CreateAsync(CreateRequest(env, bundle));
        await client.StartAsync(new StartRequest { Id = "pr" });

        await client.PauseAsync(new PauseRequest { Id = "pr" });
        Assert.Equal(ShimStatus.Paused, (await client.StateAsync(new StateRequest { Id = "pr" })).Status);
        await client.ResumeAsync(new ResumeRequest { Id = "pr" });
        Assert.Equal(ShimStatus.Running, (await client.StateAsync(new StateRequest { Id = "pr" })).Status);

        var pids = await client.PidsAsync(new PidsRequest { Id = "pr" });
        Assert.Contains(pids.Processes, p => p.Pid == created.Pid);

        var stats = await client.StatsAsync(new StatsRequest { Id = "pr" });
        Assert.Equal(TypeUrls.CgroupsV1Metrics, stats.Stats.TypeUrl);
        var metrics = Metrics.Parser.ParseFrom(stats.Stats.Value);
        Assert.True(metrics.Pids.Current >= 1, $"pids.current = {metrics.Pids.Current}");
        Assert.True(metrics.Memory.Usage.Usage > 0, "memory usage must be a real cgroup figure");
        Assert.True(metrics.Cpu.Usage.Total > 0, "cpu usage must be a real cgroup figure");

        var wait = client.WaitAsync(new WaitRequest { Id = "pr" });
        await client.KillAsync(new KillRequest { Id = "pr", Signal = 15 });
        Assert.Equal(42u, (await wait.WaitAsync(TimeSpan.FromSeconds(10))).ExitStatus);
        var finished = await Assert.ThrowsAsync<NotFoundException>(() =>
            client.KillAsync(new KillRequest { Id = "pr", Signal = 9 }));
        Assert.Equal("process already finished: not found", finished.Message);
        await client.DeleteAsync(new DeleteRequest { Id = "pr" });
        await TearDownAsync(client, connected, bundle);

        Assert.Equal(["/tasks/create", "/tasks/start", "/tasks/paused", "/tasks/resumed", "/tasks/exit", "/tasks/delete"],
            env.Events.Select(e => e.Topic));
        await LeakCheck.AssertCleanAsync(env);
    }
}
