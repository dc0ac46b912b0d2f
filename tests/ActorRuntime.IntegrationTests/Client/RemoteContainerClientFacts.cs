using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using ActorRuntime.Client;
using ActorRuntime.Client.Remote;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;
using ActorRuntime.Oci;

namespace ActorRuntime.IntegrationTests.Client;

/// <summary>
/// The remote client against a real server with real shims and runc: what both servers do the same, and where they
/// differ (event offsets), each side's behaviour. Containers use the spec's root.path (no rootfs mounts), as ctr --rootfs
/// and dockerd do; ids carry a random suffix; every container is force-deleted afterwards.
/// </summary>
public abstract class RemoteContainerClientFacts : IAsyncLifetime
{
    protected static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly string _suffix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
    private readonly List<string> _ids = [];
    private IContainerClient? _client;

    protected IContainerClient Client => _client ?? throw new InvalidOperationException("not connected");

    /// <summary>The client's FIFO directory (checked empty after each test).</summary>
    protected abstract string ClientState { get; }

    /// <summary>A rootfs copy of the test's own (runc makes mount points in it).</summary>
    protected abstract string Rootfs { get; }

    /// <summary>Starts the server; returns a client in the namespace the test acts in.</summary>
    protected abstract Task<IContainerClient> ConnectAsync();

    protected abstract Task StopServerAsync();

    /// <summary>Remembers a container id for the server's own cleanup.</summary>
    protected virtual void Track(string id)
    {
    }

    /// <summary>Whether the server numbers its events and resumes after an offset (actorruntimed) or not (containerd).</summary>
    protected abstract bool KeepsEventJournal { get; }

    public async Task InitializeAsync() => _client = await ConnectAsync();

    public async Task DisposeAsync()
    {
        if (_client is not null)
        {
            foreach (var id in _ids)
            {
                try
                {
                    await _client.ForceDeleteAsync(id).WaitAsync(Bound);
                }
                catch (NotFoundException)
                {
                }
            }
            await _client.DisposeAsync();
        }
        var left = Directory.Exists(ClientState)
            ? Directory.EnumerateFileSystemEntries(ClientState, "*", SearchOption.AllDirectories).Where(File.Exists).ToList()
            : [];
        await StopServerAsync();
        Assert.True(left.Count == 0, "the client left files: " + string.Join(", ", left));
    }

    protected string Id(string name)
    {
        var id = $"{name}-{_suffix}";
        _ids.Add(id);
        Track(id);
        return id;
    }

    /// <summary>busybox running <paramref name="args"/> on <see cref="Rootfs"/>.</summary>
    protected NewContainer Container(string id, params string[] args)
    {
        var spec = JsonNode.Parse(OciSpec.ConfigJson(Client.Namespace, id, new OciContainerSpec(args)))!;
        spec["root"]!["path"] = Rootfs;
        return new NewContainer(id, spec.ToJsonString());
    }

    /// <summary>Every event received, duplicates included, in arrival order.</summary>
    protected sealed class Recorder : IContainerEventBackend
    {
        public ConcurrentQueue<ContainerEvent> Received { get; } = new();

        public Task ProcessEventAsync(ContainerEvent e, CancellationToken ct)
        {
            Received.Enqueue(e);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task The_exit_status_of_sh_exit_42_is_42_from_wait_from_delete_and_in_the_exit_event()
    {
        var events = new Recorder();
        await using var subscription = await Client.SubscribeAsync(events);
        var id = Id("exit42");
        await Client.CreateAsync(Container(id, "/bin/sh", "-c", "exit 42"));
        var started = await Client.StartAsync(id, new StartOptions());

        Assert.Equal(42u, (await Client.WaitAsync(id, null).WaitAsync(Bound)).ExitStatus);
        var deleted = await Client.DeleteTaskAsync(id);
        Assert.Equal((started.Pid, 42u), (deleted.Pid, deleted.ExitStatus));
        await Client.DeleteAsync(id);

        await EventuallyAsync(() => events.Received.Any(e => e.ContainerId == id && e.Kind == ContainerEventKind.Delete), "the delete event", Bound);
        var mine = events.Received.Where(e => e.ContainerId == id).ToList();
        Assert.Equal([ContainerEventKind.Create, ContainerEventKind.Start, ContainerEventKind.Exit, ContainerEventKind.Delete], mine.Select(e => e.Kind));
        Assert.Equal((started.Pid, 42u), (mine[2].Pid, mine[2].ExitStatus));
        if (KeepsEventJournal)
        {
            Assert.All(mine, e => Assert.True(e.Offset > 0));
            Assert.Equal(mine.Select(e => e.Offset).Order(), mine.Select(e => e.Offset));
        }
        else
        {
            // containerd numbers nothing: its envelopes have no offset.
            Assert.All(mine, e => Assert.Equal(0, e.Offset));
        }
    }

    [Fact]
    public async Task One_MiB_through_stdin_into_cat_comes_back_byte_for_byte_and_the_fifos_go_with_the_task()
    {
        var id = Id("cat");
        var data = RandomNumberGenerator.GetBytes(1 << 20);
        await Client.CreateAsync(Container(id, "/bin/cat"));
        Task<byte[]>? output = null;
        Task? input = null;
        var started = await Client.StartAsync(id, new StartOptions(WithStdin: true, Attach: (io, _) =>
        {
            output = ReadAllAsync(io.Stdout!);
            input = WriteAndCloseAsync(io.Stdin!, data);
            return Task.CompletedTask;
        }));
        await input!.WaitAsync(Bound);
        var echoed = await output!.WaitAsync(Bound);
        Assert.Equal(data.Length, echoed.Length);
        Assert.True(data.AsSpan().SequenceEqual(echoed), "cat's output differs from its input");
        Assert.Equal(0u, (await Client.WaitAsync(id, null).WaitAsync(Bound)).ExitStatus);

        Assert.True(Directory.Exists(started.Io!.Directory));
        await Client.DeleteTaskAsync(id);
        Assert.False(Directory.Exists(started.Io.Directory), "the FIFOs outlived their task");
    }

    [Fact]
    public async Task A_caller_that_cancels_mid_stream_leaves_no_fifo_once_the_process_is_deleted()
    {
        var id = Id("yes");
        await Client.CreateAsync(Container(id, "/bin/sh", "-c", "while true; do echo y; done"));
        using var cancel = new CancellationTokenSource();
        var flowing = new TaskCompletionSource();
        Task? reading = null;
        var started = await Client.StartAsync(id, new StartOptions(Attach: (io, _) =>
        {
            reading = Task.Run(async () =>
            {
                var buffer = new byte[4096];
                while (await io.Stdout!.ReadAsync(buffer, cancel.Token) > 0) flowing.TrySetResult();
            });
            return Task.CompletedTask;
        }));
        await flowing.Task.WaitAsync(Bound);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading!.WaitAsync(Bound));
        await Client.SignalAsync(id, null, 9);
        Assert.Equal(137u, (await Client.WaitAsync(id, null).WaitAsync(Bound)).ExitStatus);
        await Client.DeleteTaskAsync(id);
        Assert.False(Directory.Exists(started.Io!.Directory), "the FIFOs outlived their task");
    }

    [Fact]
    public async Task Fifty_execs_started_at_once_each_complete_with_their_own_output_and_exit_status()
    {
        var id = Id("fifty");
        await Client.CreateAsync(Container(id, "/bin/sleep", "300"));
        await Client.StartAsync(id, new StartOptions());
        var outputs = new Task<byte[]>?[50];
        await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Client.ExecAsync(id, $"e{i}",
            new ExecOptions(OciSpec.ProcessJson(["/bin/sh", "-c", $"echo out-{i}; exit {i + 1}"]), Attach: (io, _) =>
            {
                outputs[i] = ReadAllAsync(io.Stdout!);
                return Task.CompletedTask;
            }))));
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal((uint)(i + 1), (await Client.WaitAsync(id, $"e{i}").WaitAsync(Bound)).ExitStatus);
            Assert.Equal($"out-{i}\n", System.Text.Encoding.ASCII.GetString(await outputs[i]!.WaitAsync(Bound)));
            Assert.Equal((uint)(i + 1), (await Client.DeleteProcessAsync(id, $"e{i}")).ExitStatus);
        }
    }

    [Fact]
    public async Task Stdin_closed_before_the_exec_is_registered_still_reaches_it()
    {
        var id = Id("stdin");
        await Client.CreateAsync(Container(id, "/bin/sleep", "300"));
        await Client.StartAsync(id, new StartOptions());
        Task<byte[]>? output = null;
        await Client.ExecAsync(id, "cat", new ExecOptions(OciSpec.ProcessJson(["/bin/cat"]), WithStdin: true, Attach: async (io, _) =>
        {
            output = ReadAllAsync(io.Stdout!);
            // Before the server has even heard of the exec.
            await io.Stdin!.DisposeAsync();
        }));
        Assert.Equal(0u, (await Client.WaitAsync(id, "cat").WaitAsync(Bound)).ExitStatus);
        Assert.Empty(await output!.WaitAsync(Bound));
        await Client.DeleteProcessAsync(id, "cat");
    }

    [Fact]
    public async Task A_terminal_exec_sees_the_size_it_was_resized_to()
    {
        var id = Id("tty");
        await Client.CreateAsync(Container(id, "/bin/sleep", "300"));
        await Client.StartAsync(id, new StartOptions());
        var seen = new System.Text.StringBuilder();
        var sized = new TaskCompletionSource();
        ProcessIo? terminal = null;
        await Client.ExecAsync(id, "t", new ExecOptions(OciSpec.ProcessJson(["/bin/sh"], terminal: true), WithStdin: true, Terminal: true,
            Attach: (io, _) =>
            {
                terminal = io;
                Assert.Null(io.Stderr);
                Task.Run(() => ReadUntilAsync(io.Stdout!, seen, "40 100", sized), CancellationToken.None);
                return Task.CompletedTask;
            }));
        await Client.ResizeAsync(id, "t", width: 100, height: 40);
        await terminal!.Stdin!.WriteAsync("/bin/busybox stty size; exit 0\n"u8.ToArray());
        Assert.True(await Task.WhenAny(sized.Task, Task.Delay(Bound)) == sized.Task, $"no size in: {seen}");
        Assert.Equal(0u, (await Client.WaitAsync(id, "t").WaitAsync(Bound)).ExitStatus);
        await Client.DeleteProcessAsync(id, "t");
    }

    [Fact]
    public async Task Two_hundred_runs_leave_no_fifo_no_task_and_no_descriptor()
    {
        await RunAsync(Id("warm"), 0); // the connection and the poller are opened once, not per run
        var descriptors = Directory.GetFiles("/proc/self/fd").Length;
        for (var i = 0; i < 200; i++) await RunAsync(Id($"run{i}"), i % 7);
        Assert.Empty(await Client.ListAsync());
        Assert.False(Directory.Exists(ClientState) && Directory.EnumerateFileSystemEntries(ClientState, "*", SearchOption.AllDirectories).Any(File.Exists));
        // A few for the runtime's own threads and timers; a leak per run would be hundreds.
        Assert.InRange(Directory.GetFiles("/proc/self/fd").Length, 0, descriptors + 10);
    }

    private async Task RunAsync(string id, int status)
    {
        await Client.CreateAsync(Container(id, "/bin/sh", "-c", $"echo {id}; exit {status}"));
        Task<byte[]>? output = null;
        await Client.StartAsync(id, new StartOptions(WithStdin: true, Attach: (io, _) =>
        {
            output = ReadAllAsync(io.Stdout!);
            return Task.CompletedTask;
        }));
        Assert.Equal((uint)status, (await Client.WaitAsync(id, null).WaitAsync(Bound)).ExitStatus);
        Assert.Equal($"{id}\n", System.Text.Encoding.ASCII.GetString(await output!.WaitAsync(Bound)));
        await Client.DeleteTaskAsync(id);
        await Client.DeleteAsync(id);
    }

    /// <summary>Collects what <paramref name="stream"/> delivers; <paramref name="found"/> once it contains <paramref name="text"/>.</summary>
    private static async Task ReadUntilAsync(Stream stream, System.Text.StringBuilder seen, string text, TaskCompletionSource found)
    {
        var buffer = new byte[1024];
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0)
        {
            seen.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, n));
            if (seen.ToString().Contains(text, StringComparison.Ordinal)) found.TrySetResult();
        }
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private static async Task WriteAndCloseAsync(Stream stream, byte[] data)
    {
        await stream.WriteAsync(data);
        await stream.DisposeAsync();
    }

    [Fact]
    public async Task A_duplicate_container_is_AlreadyExists_and_a_missing_one_NotFound()
    {
        var id = Id("dup");
        var created = await Client.CreateAsync(Container(id, "/bin/true"));
        Assert.Equal(created.SpecJson, (await Client.LoadAsync(id)).SpecJson);
        var twice = await Assert.ThrowsAsync<AlreadyExistsException>(() => Client.CreateAsync(Container(id, "/bin/true")));
        Assert.Contains(id, twice.Message);
        var missing = await Assert.ThrowsAsync<NotFoundException>(() => Client.LoadAsync("nosuch-" + id));
        Assert.Contains("nosuch-" + id, missing.Message);
    }

    [Fact]
    public async Task A_command_that_does_not_exist_fails_the_start_with_runcs_reason_and_leaves_no_task()
    {
        var id = Id("nosuch");
        await Client.CreateAsync(Container(id, "/bin/nosuch-command"));
        var failed = await Assert.ThrowsAnyAsync<TtrpcException>(() => Client.StartAsync(id, new StartOptions(Attach: (_, _) => Task.CompletedTask)));
        Assert.Contains("nosuch-command", failed.Message);
        Assert.Contains("no such file or directory", failed.Message);
        await Assert.ThrowsAsync<NotFoundException>(() => Client.StatusAsync(id));
        await Client.DeleteAsync(id);
    }

    [Fact]
    public async Task A_running_task_pauses_resumes_reports_stats_and_its_processes_and_a_duplicate_exec_id_is_AlreadyExists()
    {
        var id = Id("busy");
        await Client.CreateAsync(Container(id, "/bin/sleep", "300"));
        var started = await Client.StartAsync(id, new StartOptions());
        await Client.ExecAsync(id, "e1", new ExecOptions(OciSpec.ProcessJson(["/bin/sleep", "300"])));
        await Assert.ThrowsAsync<AlreadyExistsException>(() => Client.ExecAsync(id, "e1", new ExecOptions(OciSpec.ProcessJson(["/bin/true"]))));

        var processes = await Client.SummaryAsync(id);
        Assert.Contains(processes, p => p.Pid == started.Pid && p.ExecId is null);
        Assert.Contains(processes, p => p.ExecId == "e1");

        await Client.PauseAsync(id);
        Assert.Equal(ProcessStatus.Paused, (await Client.StatusAsync(id)).Status);
        await Client.ResumeAsync(id);
        Assert.Equal(ProcessStatus.Running, (await Client.StatusAsync(id)).Status);

        var stats = await Client.StatsAsync(id);
        Assert.Equal(id, stats.ContainerId);
        Assert.True(stats.PidsCurrent >= 2, $"pids {stats.PidsCurrent}");
        Assert.True(stats.MemoryUsageBytes > 0);

        await Client.SignalAsync(id, "e1", 9);
        Assert.Equal(137u, (await Client.WaitAsync(id, "e1").WaitAsync(Bound)).ExitStatus);
        Assert.Equal(137u, (await Client.DeleteProcessAsync(id, "e1")).ExitStatus);
        var exit = await Client.ForceDeleteAsync(id);
        Assert.Equal(137u, exit!.ExitStatus);
        await Assert.ThrowsAsync<NotFoundException>(() => Client.LoadAsync(id));
    }

    [Fact]
    public async Task A_checkpoint_criu_cannot_make_fails_with_the_shims_reason_and_the_task_keeps_running()
    {
        var id = Id("ckpt");
        await Client.CreateAsync(Container(id, "/bin/sleep", "300"));
        await Client.StartAsync(id, new StartOptions());
        var image = Path.Combine(ClientState, "checkpoint-" + id);
        var failed = await Assert.ThrowsAnyAsync<TtrpcException>(() =>
            Client.CheckpointAsync(id, new CheckpointOptions(image, Exit: true, OpenTcp: true, FileLocks: true)));
        Assert.Contains("criu", failed.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(ProcessStatus.Running, (await Client.StatusAsync(id)).Status);
        if (Directory.Exists(image)) Directory.Delete(image, recursive: true);
    }

    [Fact]
    public async Task Resuming_after_an_offset_gets_exactly_the_later_events_where_the_server_keeps_a_journal()
    {
        if (!KeepsEventJournal)
        {
            var refused = await Assert.ThrowsAsync<UnimplementedException>(() => Client.SubscribeAsync(new Recorder(), afterOffset: 0));
            Assert.Contains("keeps no event journal", refused.Message);
            return;
        }
        var live = new Recorder();
        var id = Id("resume");
        await using (await Client.SubscribeAsync(live))
        {
            await Client.CreateAsync(Container(id, "/bin/sh", "-c", "exit 3"));
            await Client.StartAsync(id, new StartOptions());
            await Client.WaitAsync(id, null).WaitAsync(Bound);
            await Client.DeleteTaskAsync(id);
            await EventuallyAsync(() => live.Received.Any(e => e.ContainerId == id && e.Kind == ContainerEventKind.Delete), "the delete", Bound);
        }
        var all = live.Received.Where(e => e.ContainerId == id).ToList();
        var resumed = new Recorder();
        await using (await Client.SubscribeAsync(resumed, afterOffset: all[1].Offset))
            await EventuallyAsync(() => resumed.Received.Count(e => e.ContainerId == id) >= 2, "the replay", Bound);
        Assert.Equal(all.Skip(2).Select(e => (e.Offset, e.Kind)), resumed.Received.Where(e => e.ContainerId == id).Select(e => (e.Offset, e.Kind)));
    }
}
