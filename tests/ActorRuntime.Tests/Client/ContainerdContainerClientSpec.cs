using System.Collections.Concurrent;
using ActorRuntime.Client;
using ActorRuntime.Client.Remote;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;
using ActorRuntime.TestKit;
using ActorRuntime.Tests.Daemon;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Client;

/// <summary>
/// The remote client against actorruntimed's gRPC server over fake shims: the calls it makes, containerd's codes with the
/// server's messages, a failed start cleaned up, the stdin-close synchronisation, and event offsets over the socket.
/// </summary>
public sealed class ContainerdContainerClientSpec(ITestOutputHelper output) : DaemonServerSpecBase(output)
{
    /// <summary>The client's FIFOs go next to the server's socket, in the directory the base removes.</summary>
    private string State => Path.Combine(Path.GetDirectoryName(Address)!, "client");

    private ContainerdContainerClient Connect() => ContainerdContainerClient.Connect(Address, Settings.Namespace, State);

    private static NewContainer Container(string id) => new(id, """{"process":{"args":["sh"],"user":{"uid":0,"gid":0}}}""");

    [Fact]
    public async Task A_container_comes_back_as_created_and_a_second_with_its_id_is_AlreadyExists()
    {
        await using var client = Connect();
        var options = new RuntimeOptions("containerd.runc.v1.Options", [0x32, 0x01, 0x78]);
        var created = await client.CreateAsync(Container("c1") with { Options = options, Labels = new Dictionary<string, string> { ["a"] = "b" } });
        var loaded = await client.LoadAsync("c1");
        Assert.Equal((created.SpecJson, NewContainer.RuncV2, "b"), (loaded.SpecJson, loaded.Runtime, loaded.Labels["a"]));
        Assert.Equal(options.Value, loaded.Options!.Value);
        Assert.Equal("c1", Assert.Single(await client.ListAsync()).Id);

        var twice = await Assert.ThrowsAsync<AlreadyExistsException>(() => client.CreateAsync(Container("c1")));
        Assert.Contains("c1", twice.Message);
        var missing = await Assert.ThrowsAsync<NotFoundException>(() => client.LoadAsync("nope"));
        Assert.Equal($"container \"nope\" in namespace \"{Settings.Namespace}\": not found", missing.Message);
    }

    [Fact]
    public async Task A_task_runs_its_exit_status_is_waited_for_and_deleting_it_returns_it()
    {
        await using var client = Connect();
        await client.CreateAsync(Container("c1"));
        var started = await client.StartAsync("c1", new StartOptions());
        Assert.Null(started.Io);
        Assert.Equal((ProcessStatus.Running, started.Pid), ((await client.StatusAsync("c1")).Status, (await client.StatusAsync("c1")).Pid));

        var waiting = client.WaitAsync("c1", null);
        await Launcher["c1"].ExitAsync("c1", 42);
        Assert.Equal(42u, (await waiting).ExitStatus);
        var deleted = await client.DeleteTaskAsync("c1");
        Assert.Equal((started.Pid, 42u), (deleted.Pid, deleted.ExitStatus));
        await Assert.ThrowsAsync<NotFoundException>(() => client.StatusAsync("c1"));
        await client.DeleteAsync("c1");
        Assert.Empty(await client.ListAsync());
    }

    [Fact]
    public async Task A_start_the_shim_refuses_leaves_no_task_and_no_fifo_and_says_why()
    {
        await using var client = Connect();
        Launcher.Configure = s => s.Inject(TaskApi.Methods.Start, new ShimFault.Fail(TtrpcCode.Unknown,
            "OCI runtime start failed: exec: \"nosuch\": executable file not found in $PATH: unknown"));
        await client.CreateAsync(Container("c1"));
        var attached = 0;
        var failed = await Assert.ThrowsAsync<TtrpcException>(() => client.StartAsync("c1", new StartOptions(WithStdin: true,
            Attach: (_, _) => { attached++; return Task.CompletedTask; })));

        Assert.Contains("executable file not found", failed.Message);
        Assert.Equal(1, attached);
        await Assert.ThrowsAsync<NotFoundException>(() => client.StatusAsync("c1"));
        Assert.False(Directory.Exists(State) && Directory.EnumerateFileSystemEntries(State, "*", SearchOption.AllDirectories).Any(File.Exists));
        await client.DeleteAsync("c1");
    }

    [Fact]
    public async Task Closing_stdin_while_the_exec_is_being_started_reaches_it_after_its_start()
    {
        await using var client = Connect();
        await client.CreateAsync(Container("c1"));
        await client.StartAsync("c1", new StartOptions());
        var gate = new TaskCompletionSource();
        Launcher["c1"].Inject(TaskApi.Methods.Start, new ShimFault.Gate(gate.Task));

        var exec = client.ExecAsync("c1", "e1", new ExecOptions("""{"args":["cat"],"cwd":"/"}"""));
        await EventuallyAsync(() => Launcher["c1"].Calls.GetValueOrDefault(TaskApi.Methods.Start) >= 2, "the exec's start to reach the shim");
        var close = client.CloseStdinAsync("c1", "e1");
        Assert.False(close.IsCompleted);
        Assert.Equal(0, Launcher["c1"].Calls.GetValueOrDefault(TaskApi.Methods.CloseIO));

        gate.SetResult();
        await exec;
        await close;
        Assert.Equal(1, Launcher["c1"].Calls.GetValueOrDefault(TaskApi.Methods.CloseIO));
    }

    [Fact]
    public async Task Closing_stdin_before_the_exec_exists_is_applied_when_this_client_starts_it()
    {
        await using var client = Connect();
        await client.CreateAsync(Container("c1"));
        await client.StartAsync("c1", new StartOptions());
        await client.CloseStdinAsync("c1", "e1");
        Assert.Equal(0, Launcher["c1"].Calls.GetValueOrDefault(TaskApi.Methods.CloseIO));

        await client.ExecAsync("c1", "e1", new ExecOptions("""{"args":["cat"],"cwd":"/"}"""));
        Assert.Equal(1, Launcher["c1"].Calls.GetValueOrDefault(TaskApi.Methods.CloseIO));
    }

    [Fact]
    public async Task A_duplicate_exec_id_is_AlreadyExists()
    {
        await using var client = Connect();
        await client.CreateAsync(Container("c1"));
        await client.StartAsync("c1", new StartOptions());
        await client.ExecAsync("c1", "e1", new ExecOptions("""{"args":["sh"],"cwd":"/"}"""));
        await Assert.ThrowsAsync<AlreadyExistsException>(() => client.ExecAsync("c1", "e1", new ExecOptions("""{"args":["sh"],"cwd":"/"}""")));
    }

    [Fact]
    public async Task A_checkpoint_into_a_directory_reaches_the_shim_and_succeeds_as_containerds_does()
    {
        await using var client = Connect();
        await client.CreateAsync(Container("c1"));
        await client.StartAsync("c1", new StartOptions());
        await client.CheckpointAsync("c1", new CheckpointOptions(Path.Combine(State, "image"), Exit: false, OpenTcp: true));
        Assert.Equal(1, Launcher["c1"].Calls.GetValueOrDefault(TaskApi.Methods.Checkpoint));
        Assert.Equal(ProcessStatus.Running, (await client.StatusAsync("c1")).Status);
    }

    [Fact]
    public async Task Every_checkpoint_option_reaches_the_shim_as_runcs_options()
    {
        await using var client = Connect();
        await client.CreateAsync(Container("c1"));
        await client.StartAsync("c1", new StartOptions());
        await client.CheckpointAsync("c1", new CheckpointOptions(Path.Combine(State, "image"), Exit: true, OpenTcp: true,
            ExternalUnixSockets: true, Terminal: true, FileLocks: true, WorkPath: Path.Combine(State, "work")));

        var request = Assert.Single(Launcher["c1"].Checkpoints);
        Assert.True(TypeUrls.TryUnpack(request.Options, ActorRuntime.Protocol.Runc.CheckpointOptions.Parser, out var runc));
        Assert.Equal((true, true, true, true, true, Path.Combine(State, "image"), Path.Combine(State, "work")),
            (runc.Exit, runc.OpenTcp, runc.ExternalUnixSockets, runc.Terminal, runc.FileLocks, runc.ImagePath, runc.WorkPath));
        Assert.Equal(Path.Combine(State, "image"), request.Path);
    }

    [Fact]
    public async Task A_start_from_a_checkpoint_directory_restores_through_the_shims_Create()
    {
        await using var client = Connect();
        await client.CreateAsync(Container("c1"));
        await client.StartAsync("c1", new StartOptions(CheckpointDirectory: Path.Combine(State, "image")));
        Assert.Equal(Path.Combine(State, "image"), Launcher["c1"].CreateCheckpoints["c1"]);

        await client.CreateAsync(Container("c2"));
        await client.StartAsync("c2", new StartOptions());
        Assert.Equal("", Launcher["c2"].CreateCheckpoints["c2"]);
    }

    /// <summary>Receives every event, duplicates included, in arrival order.</summary>
    private sealed class Recorder : IContainerEventBackend
    {
        public ConcurrentQueue<ContainerEvent> Received { get; } = new();

        public Task ProcessEventAsync(ContainerEvent e, CancellationToken ct)
        {
            Received.Enqueue(e);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task Events_carry_the_bus_offsets_and_a_subscription_after_an_offset_gets_exactly_the_later_ones()
    {
        await using var client = Connect();
        var live = new Recorder();
        var subscriptions = (await BusStatsAsync()).Subscriptions.Count;
        await using (await client.SubscribeAsync(live))
        {
            // The stream's first answer comes with its first event: wait for its bus subscription, or Create could precede it.
            await EventuallyAsync(async () => (await BusStatsAsync()).Subscriptions.Count == subscriptions + 1, "the stream's bus subscription", Bound);
            await client.CreateAsync(Container("c1"));
            await client.StartAsync("c1", new StartOptions());
            await Launcher["c1"].ExitAsync("c1", 3);
            await client.WaitAsync("c1", null);
            await client.DeleteTaskAsync("c1");
            await EventuallyAsync(() => live.Received.Any(e => e.Kind == ContainerEventKind.Delete), "the delete event");
        }
        var first = live.Received.ToList();
        Assert.Equal([ContainerEventKind.Create, ContainerEventKind.Start, ContainerEventKind.Exit, ContainerEventKind.Delete],
            first.Select(e => e.Kind));
        Assert.Equal(3u, first[2].ExitStatus);
        Assert.All(first, e => Assert.True(e.Offset > 0));
        Assert.Equal(first.Select(e => e.Offset).Order(), first.Select(e => e.Offset));

        // A host that handled up to the start resumes after it: the exit and the delete, once each.
        var resumed = new Recorder();
        await using (await client.SubscribeAsync(resumed, afterOffset: first[1].Offset))
            await EventuallyAsync(() => resumed.Received.Count >= 2, "the replayed events");
        Assert.Equal(first.Skip(2).Select(e => (e.Offset, e.Kind)), resumed.Received.Select(e => (e.Offset, e.Kind)));
    }

    [Fact]
    public async Task The_server_is_told_from_containerd_by_its_version()
    {
        await using var client = Connect();
        Assert.Equal(ActorRuntime.Protocol.EventOffsets.ServerRevision, (await client.VersionAsync()).Revision);
        await Assert.ThrowsAsync<InvalidArgumentException>(() => client.SubscribeAsync(new Recorder(), afterOffset: -1));
    }

    [Fact]
    public async Task A_socket_nobody_serves_is_Unavailable_naming_the_cause()
    {
        await using var nowhere = ContainerdContainerClient.Connect(Path.Combine(State, "none.sock"), "n", State);
        var down = await Assert.ThrowsAsync<UnavailableException>(() => nowhere.LoadAsync("c1"));
        Assert.Contains("(", down.Message);
    }
}
