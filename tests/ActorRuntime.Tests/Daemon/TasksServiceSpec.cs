using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Api.Tasks;
using ActorRuntime.Protocol.Runc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Xunit.Abstractions;
using ProcessStatus = ActorRuntime.Protocol.Types.Status;

namespace ActorRuntime.Tests.Daemon;

/// <summary>The tasks service over fake shims: the answers ctr and dockerd rely on, and containerd's codes for bad input.</summary>
public sealed class TasksServiceSpec(ITestOutputHelper output) : DaemonServerSpecBase(output)
{
    private const long GoZeroTimeSeconds = -62135596800;

    private ActorRuntime.Protocol.Api.Tasks.Tasks.TasksClient Client => new(Channel);

    private static Any Json(string typeUrl, string json) => new() { TypeUrl = typeUrl, Value = ByteString.CopyFromUtf8(json) };

    private async Task<uint> CreateTaskAsync(string id, string stdout = "")
    {
        await Runtime.CreateContainerAsync(id, Spec);
        return (await Client.CreateAsync(new CreateTaskRequest { ContainerId = id, Stdin = "/fifo/in", Stdout = stdout, Terminal = true },
            In(Settings.Namespace))).Pid;
    }

    [Fact]
    public async Task A_task_is_created_waited_on_before_start_started_and_deleted_as_ctr_run_does()
    {
        var pid = await CreateTaskAsync("c1", stdout: "/fifo/out");
        var created = (await Client.GetAsync(new GetRequest { ContainerId = "c1" }, In(Settings.Namespace))).Process;
        Assert.Equal((ProcessStatus.Created, pid, "c1"), (created.Status, created.Pid, created.Id));

        // ctr sends Wait alongside Start: it may arrive first, on a task that is only created.
        using var wait = Client.WaitAsync(new WaitRequest { ContainerId = "c1" }, In(Settings.Namespace));
        Assert.Equal(pid, (await Client.StartAsync(new StartRequest { ContainerId = "c1" }, In(Settings.Namespace))).Pid);
        var running = (await Client.GetAsync(new GetRequest { ContainerId = "c1" }, In(Settings.Namespace))).Process;
        Assert.Equal(ProcessStatus.Running, running.Status);
        Assert.Equal(("/fifo/in", "/fifo/out", "", true), (running.Stdin, running.Stdout, running.Stderr, running.Terminal));
        Assert.Equal(GoZeroTimeSeconds, running.ExitedAt.Seconds);
        Assert.Equal(ProcessStatus.Running, Assert.Single((await Client.ListAsync(new ListTasksRequest(), In(Settings.Namespace))).Tasks).Status);

        await Launcher["c1"].ExitAsync("c1", 3);
        var exited = await wait.ResponseAsync;
        Assert.Equal(3u, exited.ExitStatus);
        var stopped = (await Client.GetAsync(new GetRequest { ContainerId = "c1" }, In(Settings.Namespace))).Process;
        Assert.Equal((ProcessStatus.Stopped, 3u, exited.ExitedAt), (stopped.Status, stopped.ExitStatus, stopped.ExitedAt));
        Assert.Equal(3u, (await Client.WaitAsync(new WaitRequest { ContainerId = "c1" }, In(Settings.Namespace))).ExitStatus);

        var deleted = await Client.DeleteAsync(new DeleteTaskRequest { ContainerId = "c1" }, In(Settings.Namespace));
        Assert.Equal(("", pid, 3u, exited.ExitedAt), (deleted.Id, deleted.Pid, deleted.ExitStatus, deleted.ExitedAt));
        var gone = await Refused(() => Client.GetAsync(new GetRequest { ContainerId = "c1" }, In(Settings.Namespace)).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
        Assert.Empty((await Client.ListAsync(new ListTasksRequest(), In(Settings.Namespace))).Tasks);
    }

    [Fact]
    public async Task The_containers_runtime_options_reach_the_shims_Create_and_the_requests_own_win()
    {
        var own = TypeUrls.Pack(new ActorRuntime.Protocol.Runc.Options { IoUid = 1234, IoGid = 1234, Root = "/run/own-runc" });
        await Runtime.CreateContainerAsync("opts", Spec, runtimeOptions: own.ToByteArray());
        await Client.CreateAsync(new CreateTaskRequest { ContainerId = "opts" }, In(Settings.Namespace));
        Assert.Equal(own, Launcher["opts"].CreateOptions["opts"]);

        var given = TypeUrls.Pack(new ActorRuntime.Protocol.Runc.Options { IoUid = 7, Root = "/run/given-runc" });
        await Runtime.CreateContainerAsync("given", Spec, runtimeOptions: own.ToByteArray());
        await Client.CreateAsync(new CreateTaskRequest { ContainerId = "given", Options = given }, In(Settings.Namespace));
        Assert.Equal(given, Launcher["given"].CreateOptions["given"]);
    }

    [Fact]
    public async Task A_task_restores_from_runcs_criu_image_path_and_without_one_is_Unimplemented_as_we_keep_no_content_store()
    {
        var checkpoint = new ActorRuntime.Protocol.Types.ContentDescriptor { MediaType = "application/vnd.containerd.container.criu.checkpoint.criu.tar" };
        await Runtime.CreateContainerAsync("restored", Spec);
        var image = TypeUrls.Pack(new ActorRuntime.Protocol.Runc.Options { CriuImagePath = "/var/lib/images/restored" });
        await Client.CreateAsync(new CreateTaskRequest { ContainerId = "restored", Checkpoint = checkpoint, Options = image }, In(Settings.Namespace));
        Assert.Equal("/var/lib/images/restored", Launcher["restored"].CreateCheckpoints["restored"]);

        await Runtime.CreateContainerAsync("stored", Spec);
        var stored = await Refused(() => Client.CreateAsync(new CreateTaskRequest { ContainerId = "stored", Checkpoint = checkpoint },
            In(Settings.Namespace)).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, stored.StatusCode);
        Assert.Contains("criu_image_path", stored.Status.Detail);
        var relative = TypeUrls.Pack(new ActorRuntime.Protocol.Runc.Options { CriuImagePath = "images/x" });
        var bad = await Refused(() => Client.CreateAsync(new CreateTaskRequest { ContainerId = "stored", Checkpoint = checkpoint, Options = relative },
            In(Settings.Namespace)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        Assert.Single(Launcher.Shims); // the restored task's: a refused restore launches none
    }

    [Fact]
    public async Task Create_for_a_container_that_does_not_exist_is_NotFound_naming_it()
    {
        var missing = await Refused(() => Client.CreateAsync(new CreateTaskRequest { ContainerId = "nope" }, In(Settings.Namespace)).ResponseAsync);
        Assert.Equal((StatusCode.NotFound, $"container \"nope\" in namespace \"{Settings.Namespace}\": not found"),
            (missing.StatusCode, missing.Status.Detail));
        var bad = await Refused(() => Client.CreateAsync(new CreateTaskRequest { ContainerId = "../x" }, In(Settings.Namespace)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        var none = await Refused(() => Client.CreateAsync(new CreateTaskRequest { ContainerId = "c1" }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, none.StatusCode);
        Assert.Empty(Launcher.Shims);
    }

    [Fact]
    public async Task An_exec_runs_shows_in_the_pid_list_with_its_id_and_is_deleted_with_DeleteProcess()
    {
        await CreateTaskAsync("c1");
        await Client.StartAsync(new StartRequest { ContainerId = "c1" }, In(Settings.Namespace));
        await Client.ExecAsync(new ExecProcessRequest
        {
            ContainerId = "c1",
            ExecId = "e1",
            Stdout = "/fifo/e1-out",
            Spec = Json(TypeUrls.OciProcess, """{"args":["/bin/echo","in"],"cwd":"/"}"""),
        }, In(Settings.Namespace));
        using var wait = Client.WaitAsync(new WaitRequest { ContainerId = "c1", ExecId = "e1" }, In(Settings.Namespace));
        var execPid = (await Client.StartAsync(new StartRequest { ContainerId = "c1", ExecId = "e1" }, In(Settings.Namespace))).Pid;
        var exec = (await Client.GetAsync(new GetRequest { ContainerId = "c1", ExecId = "e1" }, In(Settings.Namespace))).Process;
        Assert.Equal(("e1", execPid, "/fifo/e1-out"), (exec.Id, exec.Pid, exec.Stdout));

        var pids = (await Client.ListPidsAsync(new ListPidsRequest { ContainerId = "c1" }, In(Settings.Namespace))).Processes;
        var listed = Assert.Single(pids, p => p.Pid == execPid);
        Assert.True(TypeUrls.TryUnpack(listed.Info, ProcessDetails.Parser, out var details));
        Assert.Equal("e1", details.ExecId);

        await Launcher["c1"].ExitAsync("c1", 7, "e1");
        Assert.Equal(7u, (await wait.ResponseAsync).ExitStatus);
        var deleted = await Client.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "c1", ExecId = "e1" }, In(Settings.Namespace));
        Assert.Equal(("e1", execPid, 7u), (deleted.Id, deleted.Pid, deleted.ExitStatus));
        var gone = await Refused(() => Client.GetAsync(new GetRequest { ContainerId = "c1", ExecId = "e1" }, In(Settings.Namespace)).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
    }

    [Theory]
    [InlineData(TypeUrls.OciSpec, "{}", "exec spec has type")]
    [InlineData(TypeUrls.OciProcess, "{args", "exec spec is not valid JSON")]
    [InlineData("", "", "exec spec must be set")]
    public async Task An_exec_spec_that_is_not_an_OCI_Process_JSON_object_is_InvalidArgument_naming_it(string typeUrl, string json,
        string message)
    {
        await CreateTaskAsync("c1");
        var refused = await Refused(() => Client.ExecAsync(new ExecProcessRequest
        {
            ContainerId = "c1",
            ExecId = "e1",
            Spec = Json(typeUrl, json),
        }, In(Settings.Namespace)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.StartsWith(message, refused.Status.Detail);
        var badId = await Refused(() => Client.ExecAsync(new ExecProcessRequest
        {
            ContainerId = "c1",
            ExecId = "a/b",
            Spec = Json(TypeUrls.OciProcess, "{}"),
        }, In(Settings.Namespace)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, badId.StatusCode);
        Assert.Contains("a/b", badId.Status.Detail);
    }

    [Fact]
    public async Task Metrics_returns_the_shims_statistics_for_the_task_the_filter_names()
    {
        await CreateTaskAsync("c1");
        await CreateTaskAsync("c2");
        var metric = Assert.Single((await Client.MetricsAsync(new MetricsRequest { Filters = { "id==c2" } }, In(Settings.Namespace))).Metrics);
        Assert.Equal(("c2", TypeUrls.CgroupsV1Metrics), (metric.Id, metric.Data.TypeUrl));
        Assert.True(TypeUrls.TryUnpack(metric.Data, ActorRuntime.Protocol.Cgroups.V1.Metrics.Parser, out ActorRuntime.Protocol.Cgroups.V1.Metrics decoded));
        Assert.Equal(1ul, decoded.Pids.Current); // the fake shim counts the processes not exited: c2's init
        Assert.Equal(2, (await Client.MetricsAsync(new MetricsRequest(), In(Settings.Namespace))).Metrics.Count);
        var filter = await Refused(() => Client.MetricsAsync(new MetricsRequest { Filters = { "namespace==x" } }, In(Settings.Namespace)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, filter.StatusCode);
    }

    [Fact]
    public async Task Pause_resume_kill_and_update_reach_the_task_and_bad_resources_are_InvalidArgument()
    {
        await CreateTaskAsync("c1");
        await Client.StartAsync(new StartRequest { ContainerId = "c1" }, In(Settings.Namespace));
        await Client.PauseAsync(new PauseTaskRequest { ContainerId = "c1" }, In(Settings.Namespace));
        Assert.Equal(ProcessStatus.Paused, (await Client.GetAsync(new GetRequest { ContainerId = "c1" }, In(Settings.Namespace))).Process.Status);
        await Client.ResumeAsync(new ResumeTaskRequest { ContainerId = "c1" }, In(Settings.Namespace));
        Assert.Equal(ProcessStatus.Running, (await Client.GetAsync(new GetRequest { ContainerId = "c1" }, In(Settings.Namespace))).Process.Status);

        await Client.UpdateAsync(new UpdateTaskRequest
        {
            ContainerId = "c1",
            Resources = Json(TypeUrls.OciLinuxResources, """{"pids":{"limit":10}}"""),
        }, In(Settings.Namespace));
        var bad = await Refused(() => Client.UpdateAsync(new UpdateTaskRequest
        {
            ContainerId = "c1",
            Resources = Json(TypeUrls.OciLinuxResources, "{"),
        }, In(Settings.Namespace)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        Assert.StartsWith("resources is not valid JSON", bad.Status.Detail);

        await Client.KillAsync(new KillRequest { ContainerId = "c1", Signal = 9 }, In(Settings.Namespace));
        Assert.Equal(137u, (await Client.WaitAsync(new WaitRequest { ContainerId = "c1" }, In(Settings.Namespace))).ExitStatus);
        var missing = await Refused(() => Client.KillAsync(new KillRequest { ContainerId = "nope", Signal = 9 }, In(Settings.Namespace)).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }
}
