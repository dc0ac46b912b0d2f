using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using ActorRuntime.Client;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;
using ActorRuntime.Oci;
using ActorRuntime.Testing;
using static ActorRuntime.Testing.Eventually;

namespace ActorRuntime.IntegrationTests.Client;

/// <summary>
/// What every way of reaching a runtime promises a host (issue 12), against real shims and runc. A subclass says how to
/// connect, where the busybox rootfs comes from, how to restart the runtime, and what it leaves on disk to look at.
/// </summary>
public abstract class ContainerClientContract : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    protected IContainerClient Client { get; private set; } = null!;

    /// <summary>A client of a running runtime (a new one after <see cref="RestartRuntimeAsync"/>).</summary>
    protected abstract Task<IContainerClient> ConnectAsync();

    /// <summary>Stops the runtime (the shims keep running) and starts it again.</summary>
    protected abstract Task RestartRuntimeAsync();

    protected abstract IReadOnlyList<MountSpec> Rootfs { get; }

    /// <summary>The client's state directory for the namespace: every FIFO directory of the specs lives under it.</summary>
    protected abstract string FifoRoot { get; }

    /// <summary>Shims, runc containers and bundles of the specs' namespace still there.</summary>
    protected abstract IReadOnlyList<string> Leftovers();

    protected abstract Task StartEnvironmentAsync();

    protected abstract Task StopEnvironmentAsync();

    /// <summary>
    /// Whether the runtime numbers its events and lets a host resume after the last offset it handled (ours, in-process
    /// and actorruntimed) or keeps no journal (containerd: offsets 0, SubscribeAsync after an offset Unimplemented).
    /// </summary>
    protected virtual bool ResumesAfterOffset => true;

    /// <summary>Remembers a container id for the runtime's own clean-up; returns it.</summary>
    protected virtual string Track(string id) => id;

    public async Task InitializeAsync()
    {
        await StartEnvironmentAsync();
        Client = await ConnectAsync();
    }

    public async Task DisposeAsync()
    {
        await Client.DisposeAsync();
        await StopEnvironmentAsync();
    }

    protected string NewId(string what) => Track($"{what}-{Guid.NewGuid().ToString("N")[..8]}");

    private async Task<string> CreateAsync(string what, params string[] args) => await CreateAsync(what, false, args);

    private async Task<string> CreateAsync(string what, bool terminal, params string[] args)
    {
        var id = NewId(what);
        await Client.CreateAsync(new NewContainer(id, OciSpec.ConfigJson(Client.Namespace, id, new OciContainerSpec(args) { Terminal = terminal })));
        return id;
    }

    private StartOptions Attached(StdioAttach attach, bool withStdin = false, bool terminal = false) =>
        new(withStdin, terminal, attach, Rootfs: Rootfs);

    private static readonly StdioAttach NoCopy = (_, _) => Task.CompletedTask;

    private static async Task<byte[]> ReadAllAsync(Stream? stream)
    {
        using var copy = new MemoryStream();
        if (stream is not null) await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private async Task<ExitResult> RemoveAsync(string id)
    {
        await Client.WaitAsync(id, null).WaitAsync(Patience);
        var exit = await Client.DeleteTaskAsync(id);
        await Client.DeleteAsync(id);
        Assert.False(ContainerDirectoryLeft(id), $"the FIFO directory of deleted container {id}");
        return exit;
    }

    /// <summary>
    /// FIFOs, and the processes' FIFO directories (&lt;container&gt;/&lt;random&gt;), still under the client's state: none
    /// once their process is deleted or failed to start. A container's own directory goes when the container is deleted
    /// (<see cref="ContainerDirectoryLeft"/>).
    /// </summary>
    private IReadOnlyList<string> FifosLeft() =>
        Directory.Exists(FifoRoot)
            ? [.. Directory.GetFiles(FifoRoot, "*", SearchOption.AllDirectories),
               .. Directory.GetDirectories(FifoRoot).SelectMany(Directory.GetDirectories)]
            : [];

    private bool ContainerDirectoryLeft(string id) => Directory.Exists(Path.Combine(FifoRoot, id));

    [Fact]
    public async Task A_mebibyte_through_stdin_into_cat_comes_back_byte_for_byte()
    {
        var payload = RandomNumberGenerator.GetBytes(1 << 20);
        var id = await CreateAsync("cat", "cat");
        Task<byte[]> output = null!;
        var started = await Client.StartAsync(id, Attached((io, _) =>
        {
            output = ReadAllAsync(io.Stdout);
            return Task.CompletedTask;
        }, withStdin: true));

        await started.Io!.Stdin!.WriteAsync(payload);
        await started.Io.Stdin.DisposeAsync(); // the end of the input reaches cat as CloseIO

        Assert.Equal(payload, await output.WaitAsync(Patience));
        Assert.Equal(0u, (await RemoveAsync(id)).ExitStatus);
        Assert.Empty(FifosLeft());
    }

    [Fact]
    public async Task The_exit_status_of_sh_exit_42_is_42()
    {
        var id = await CreateAsync("exit42", "sh", "-c", "exit 42");
        await Client.StartAsync(id, Attached(NoCopy));

        Assert.Equal(42u, (await Client.WaitAsync(id, null).WaitAsync(Patience)).ExitStatus);
        Assert.Equal(42u, (await RemoveAsync(id)).ExitStatus);
    }

    [Fact]
    public async Task A_process_of_another_user_gets_stdio_it_owns_and_can_reopen_its_stdout()
    {
        var id = NewId("user");
        await Client.CreateAsync(new NewContainer(id, OciSpec.ConfigJson(Client.Namespace, id,
            new OciContainerSpec(["sh", "-c", "id -u; echo reopened > /dev/stdout"]) { Uid = 1000, Gid = 1000 })));
        Task<byte[]> output = null!;
        var owner = "";
        await Client.StartAsync(id, Attached((io, _) =>
        {
            owner = OwnerOf(io.Paths.Stdout);
            output = ReadAllAsync(io.Stdout);
            return Task.CompletedTask;
        }));
        Assert.Equal(0u, (await RemoveAsync(id)).ExitStatus);
        Assert.Equal("1000\nreopened\n", Encoding.ASCII.GetString(await output.WaitAsync(Patience)));
        Assert.Equal("1000:1000", owner);

        // An exec as that user too: its FIFOs are the exec's user's.
        var host = await CreateAsync("user-exec", "sleep", "60");
        await Client.StartAsync(host, Attached(NoCopy));
        Task<byte[]> execOutput = null!;
        await Client.ExecAsync(host, "as-user", new ExecOptions(OciSpec.ProcessJson(["sh", "-c", "echo reopened > /dev/stdout"], uid: 1000, gid: 1000),
            Attach: (io, _) =>
            {
                owner = OwnerOf(io.Paths.Stdout);
                execOutput = ReadAllAsync(io.Stdout);
                return Task.CompletedTask;
            }));
        Assert.Equal("1000:1000", owner);
        Assert.Equal(0u, (await Client.WaitAsync(host, "as-user").WaitAsync(Patience)).ExitStatus);
        Assert.Equal("reopened\n", Encoding.ASCII.GetString(await execOutput.WaitAsync(Patience)));
        await Client.DeleteProcessAsync(host, "as-user");
        await Client.ForceDeleteAsync(host);
        Assert.Empty(FifosLeft());
    }

    [Fact]
    public async Task A_duplicate_container_id_is_already_exists_a_missing_one_not_found_and_a_duplicate_exec_id_already_exists()
    {
        var id = await CreateAsync("dup", "sleep", "60");
        var duplicate = await Assert.ThrowsAnyAsync<TtrpcException>(() =>
            Client.CreateAsync(new NewContainer(id, OciSpec.ConfigJson(Client.Namespace, id, new OciContainerSpec(["true"])))));
        Assert.Equal(TtrpcCode.AlreadyExists, duplicate.Code);
        Assert.Equal(TtrpcCode.NotFound, (await Assert.ThrowsAnyAsync<TtrpcException>(() => Client.LoadAsync(NewId("missing")))).Code);

        await Client.StartAsync(id, Attached(NoCopy));
        var exec = new ExecOptions(OciSpec.ProcessJson(["sleep", "60"]), Attach: NoCopy);
        await Client.ExecAsync(id, "e1", exec);
        var execDuplicate = await Assert.ThrowsAnyAsync<TtrpcException>(() => Client.ExecAsync(id, "e1", exec));
        Assert.Equal(TtrpcCode.AlreadyExists, execDuplicate.Code);

        Assert.Equal(137u, (await Client.ForceDeleteAsync(id))!.ExitStatus);
        Assert.Empty(FifosLeft());
    }

    [Fact]
    public async Task A_task_that_fails_to_start_leaves_nothing_and_the_error_names_the_cause()
    {
        var id = await CreateAsync("nocmd", "/bin/no-such-command");

        var e = await Assert.ThrowsAnyAsync<TtrpcException>(() => Client.StartAsync(id, Attached(NoCopy)));
        Assert.Contains("no-such-command", e.Message);

        Assert.Equal(TtrpcCode.NotFound, (await Assert.ThrowsAnyAsync<TtrpcException>(() => Client.StatusAsync(id))).Code);
        Assert.Empty(FifosLeft());
        await Client.DeleteAsync(id);
        await EventuallyAsync(() => Leftovers().Count == 0, "no shim, runc container or bundle of the failed start", Patience,
            () => string.Join(", ", Leftovers()));
    }

    [Fact]
    public async Task Stdin_closed_before_the_exec_is_registered_reaches_the_exec_once_it_starts()
    {
        var id = await CreateAsync("early", "sleep", "60");
        await Client.StartAsync(id, Attached(NoCopy));

        await Client.CloseStdinAsync(id, "reader");
        Task<byte[]> output = null!;
        await Client.ExecAsync(id, "reader", new ExecOptions(OciSpec.ProcessJson(["sh", "-c", "cat; echo done"]), WithStdin: true,
            Attach: (io, _) =>
            {
                output = ReadAllAsync(io.Stdout);
                return Task.CompletedTask;
            }));

        Assert.Equal(0u, (await Client.WaitAsync(id, "reader").WaitAsync(Patience)).ExitStatus);
        Assert.Equal("done\n", Encoding.ASCII.GetString(await output.WaitAsync(Patience)));
        await Client.DeleteProcessAsync(id, "reader");
        await Client.ForceDeleteAsync(id);
        Assert.Empty(FifosLeft());
    }

    /// <summary>
    /// What `echo hello | arctl exec -i` does: the input is written and closed in the attach callback, before the shim
    /// has opened its end of the stdin FIFO. The bytes must wait in the FIFO for the shim, not vanish with our end.
    /// </summary>
    [Fact]
    public async Task Input_written_and_closed_before_the_exec_starts_reaches_it_whole()
    {
        var id = await CreateAsync("early-input", "sleep", "60");
        await Client.StartAsync(id, Attached(NoCopy));

        Task<byte[]> output = null!;
        await Client.ExecAsync(id, "reader", new ExecOptions(OciSpec.ProcessJson(["sh", "-c", "cat; echo done"]), WithStdin: true,
            Attach: async (io, _) =>
            {
                output = ReadAllAsync(io.Stdout);
                await io.Stdin!.WriteAsync("hello\n"u8.ToArray());
                await io.Stdin.DisposeAsync();
            }));

        Assert.Equal(0u, (await Client.WaitAsync(id, "reader").WaitAsync(Patience)).ExitStatus);
        Assert.Equal("hello\ndone\n", Encoding.ASCII.GetString(await output.WaitAsync(Patience)));
        await Client.DeleteProcessAsync(id, "reader");
        await Client.ForceDeleteAsync(id);
        Assert.Empty(FifosLeft());
    }

    [Fact]
    public async Task A_caller_that_cancels_mid_stream_leaves_no_fifo_and_no_descriptor()
    {
        var id = await CreateAsync("yes", "yes");
        var descriptors = OpenDescriptors();
        var started = await Client.StartAsync(id, Attached(NoCopy));
        var buffer = new byte[4096];
        Assert.True(await started.Io!.Stdout!.ReadAsync(buffer) > 0);

        using var cancel = new CancellationTokenSource();
        using var sink = new MemoryStream();
        var copy = started.Io.Stdout.CopyToAsync(sink, cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => copy.WaitAsync(Patience));
        await started.Io.DisposeAsync();

        Assert.Equal(137u, (await Client.ForceDeleteAsync(id))!.ExitStatus);
        Assert.Empty(FifosLeft());
        await EventuallyAsync(() => OpenDescriptors().Count <= descriptors.Count, "no descriptor more than before the run", Patience,
            () => NewDescriptors(descriptors));
        Assert.Empty(DescriptorsUnder(FifoRoot));
    }

    [Fact]
    public async Task A_terminal_task_resizes_and_its_output_comes_on_stdout()
    {
        var id = await CreateAsync("tty", terminal: true, "sh", "-c", "test -t 1 && echo tty; read line; echo got $line");
        Task<byte[]> output = null!;
        var started = await Client.StartAsync(id, Attached((io, _) =>
        {
            output = ReadAllAsync(io.Stdout);
            return Task.CompletedTask;
        }, withStdin: true, terminal: true));
        Assert.Null(started.Io!.Stderr);

        await Client.ResizeAsync(id, null, 100, 40);
        await started.Io.Stdin!.WriteAsync("x\n"u8.ToArray());

        Assert.Equal(0u, (await Client.WaitAsync(id, null).WaitAsync(Patience)).ExitStatus);
        var text = Encoding.ASCII.GetString(await output.WaitAsync(Patience));
        Assert.Contains("tty", text);
        Assert.Contains("got x", text);
        await RemoveAsync(id);
    }

    [Fact]
    public async Task Pause_resume_stats_summary_and_status_report_the_running_task()
    {
        var id = await CreateAsync("pause", "sleep", "60");
        var started = await Client.StartAsync(id, Attached(NoCopy));

        Assert.Equal(ProcessStatus.Running, (await Client.StatusAsync(id)).Status);
        await Client.PauseAsync(id);
        Assert.Equal(ProcessStatus.Paused, (await Client.StatusAsync(id)).Status);
        await Client.ResumeAsync(id);
        Assert.Equal(ProcessStatus.Running, (await Client.StatusAsync(id)).Status);

        var stats = await Client.StatsAsync(id);
        Assert.Equal(id, stats.ContainerId);
        Assert.True(stats.MemoryUsageBytes > 0 && stats.PidsCurrent >= 1, stats.ToString());
        Assert.Contains(await Client.SummaryAsync(id), p => p.Pid == started.Pid && p.ExecId is null);

        await Client.ForceDeleteAsync(id);
    }

    [Fact]
    public async Task A_checkpoint_without_criu_fails_with_a_clear_error_and_the_task_keeps_running()
    {
        var id = await CreateAsync("ckpt", "sleep", "60");
        await Client.StartAsync(id, Attached(NoCopy));
        var image = Path.Combine(Path.GetTempPath(), NewId("checkpoint"));

        var e = await Assert.ThrowsAnyAsync<TtrpcException>(() => Client.CheckpointAsync(id, new CheckpointOptions(image,
            OpenTcp: true, ExternalUnixSockets: true, FileLocks: true, WorkPath: image + "-work")));
        Assert.Contains("criu", e.Message, StringComparison.OrdinalIgnoreCase);

        Assert.Equal(ProcessStatus.Running, (await Client.StatusAsync(id)).Status);
        Assert.False(Directory.Exists(image) && Directory.EnumerateFileSystemEntries(image).Any(), "a partial checkpoint image");
        foreach (var made in new[] { image, image + "-work" }.Where(Directory.Exists)) Directory.Delete(made, recursive: true);
        await Client.ForceDeleteAsync(id);
    }

    [Fact]
    public async Task A_restore_without_criu_fails_with_the_shims_error_and_leaves_nothing_behind()
    {
        var id = await CreateAsync("restore", "sleep", "60");
        var image = Path.Combine(Path.GetTempPath(), NewId("image"));
        Directory.CreateDirectory(image);
        try
        {
            var e = await Assert.ThrowsAnyAsync<TtrpcException>(() =>
                Client.StartAsync(id, Attached(NoCopy) with { CheckpointDirectory = image }));
            Assert.Contains("criu", e.Message, StringComparison.OrdinalIgnoreCase);

            Assert.Equal(TtrpcCode.NotFound, (await Assert.ThrowsAnyAsync<TtrpcException>(() => Client.StatusAsync(id))).Code);
            Assert.Empty(FifosLeft());
            await Client.DeleteAsync(id);
            Assert.False(ContainerDirectoryLeft(id), $"the FIFO directory of deleted container {id}");
            await EventuallyAsync(() => Leftovers().Count == 0, "no shim, runc container or bundle of the failed restore", Patience,
                () => string.Join(", ", Leftovers()));
        }
        finally
        {
            Directory.Delete(image, recursive: true);
        }
    }

    [Fact]
    public async Task Two_hundred_runs_leave_no_fifo_bundle_shim_or_descriptor()
    {
        // The first run pays for what is made once (the shared poller's thread, pools); count from after it.
        await RunOnceAsync();
        var descriptors = OpenDescriptors();
        for (var i = 0; i < 199; i++) await RunOnceAsync();

        Assert.Empty(FifosLeft());
        await EventuallyAsync(() => Leftovers().Count == 0, "no shim, runc container or bundle", Patience, () => string.Join(", ", Leftovers()));
        await EventuallyAsync(() => OpenDescriptors().Count <= descriptors.Count, "no descriptor more than after the first run", Patience,
            () => NewDescriptors(descriptors));
        Assert.Empty(DescriptorsUnder(FifoRoot));

        async Task RunOnceAsync()
        {
            var id = await CreateAsync("run", "sh", "-c", "echo hi; echo err >&2");
            Task<byte[]> output = null!;
            await Client.StartAsync(id, Attached((io, _) =>
            {
                output = ReadAllAsync(io.Stdout);
                return Task.CompletedTask;
            }));
            Assert.Equal(0u, (await RemoveAsync(id)).ExitStatus);
            Assert.Equal("hi\n", Encoding.ASCII.GetString(await output.WaitAsync(Patience)));
        }
    }

    [Fact]
    public async Task Fifty_execs_started_at_once_each_complete_with_their_own_output_and_status()
    {
        var id = await CreateAsync("execs", "sleep", "120");
        await Client.StartAsync(id, Attached(NoCopy));

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
        {
            Task<byte[]> output = null!;
            await Client.ExecAsync(id, $"e{i}", new ExecOptions(OciSpec.ProcessJson(["sh", "-c", $"echo {i}; exit {i % 7}"]),
                Attach: (io, _) =>
                {
                    output = ReadAllAsync(io.Stdout);
                    return Task.CompletedTask;
                }));
            var exit = await Client.WaitAsync(id, $"e{i}").WaitAsync(Patience);
            var text = Encoding.ASCII.GetString(await output.WaitAsync(Patience));
            await Client.DeleteProcessAsync(id, $"e{i}");
            return (i, text, exit.ExitStatus);
        }));

        Assert.All(results, r => Assert.Equal(($"{r.i}\n", (uint)(r.i % 7)), (r.text, r.ExitStatus)));
        await Client.ForceDeleteAsync(id);
        Assert.Empty(FifosLeft());
    }

    [Fact]
    public async Task Events_come_in_order_with_offsets_and_a_host_resumes_after_a_restart_with_nothing_missed_or_twice()
    {
        var before = new EventLog();
        var id = await CreateAsync("events", "sh", "-c", "read x");
        await using (await Client.SubscribeAsync(before))
        {
            await Client.StartAsync(id, Attached(NoCopy, withStdin: true));
            await Client.ExecAsync(id, "e1", new ExecOptions(OciSpec.ProcessJson(["true"]), Attach: NoCopy));
            await Client.WaitAsync(id, "e1").WaitAsync(Patience);
            await Client.DeleteProcessAsync(id, "e1");
            await EventuallyAsync(() => before.Of(id).Any(e => e.Kind == ContainerEventKind.Exit && e.ExecId == "e1"),
                "the exec's exit", Patience, before.ToString);
        }
        Assert.Equal([ContainerEventKind.Create, ContainerEventKind.Start, ContainerEventKind.ExecAdded, ContainerEventKind.ExecStarted,
            ContainerEventKind.Exit], before.Of(id).Select(e => e.Kind).Take(5));
        var offsets = before.Of(id).Select(e => e.Offset).ToList();
        Assert.Equal(offsets.Order(), offsets);
        var lastHandled = offsets[^1];

        await Client.DisposeAsync();
        await RestartRuntimeAsync();
        Client = await ConnectAsync();
        var reattached = await Client.ReattachAsync(id, NoCopy);

        var after = new EventLog();
        if (!ResumesAfterOffset)
        {
            var refused = await Assert.ThrowsAsync<UnimplementedException>(() => Client.SubscribeAsync(new EventLog(), lastHandled));
            Assert.Contains("keeps no event journal", refused.Message);
        }
        await using (await (ResumesAfterOffset ? Client.SubscribeAsync(after, lastHandled) : Client.SubscribeAsync(after)))
        {
            // A stream says nothing until its first event: a probe exec's events show it is live on the server (without a
            // journal, containerd's stream misses whatever happens before that).
            await Client.ExecAsync(id, "probe", new ExecOptions(OciSpec.ProcessJson(["true"]), Attach: NoCopy));
            await EventuallyAsync(() => after.Of(id).Any(e => e.ExecId == "probe"), "the probe exec's events", Patience, after.ToString);
            await Client.WaitAsync(id, "probe").WaitAsync(Patience);
            await Client.DeleteProcessAsync(id, "probe");
            await reattached.Io!.Stdin!.DisposeAsync(); // `read` gets its end of input: the init exits after the restart
            await Client.WaitAsync(id, null).WaitAsync(Patience);
            await Client.DeleteTaskAsync(id);
            await EventuallyAsync(() => after.Of(id).Any(e => e.Kind == ContainerEventKind.Delete && e.ExecId is null),
                "the task's delete", Patience, after.ToString);
        }
        if (ResumesAfterOffset) Assert.All(after.Of(id), e => Assert.True(e.Offset > lastHandled, $"{e} again"));
        else Assert.All(after.Of(id), e => Assert.Equal(0, e.Offset));
        Assert.Single(after.Of(id), e => e.Kind == ContainerEventKind.Exit && e.ExecId is null);
        await Client.DeleteAsync(id);
    }

    /// <summary>A file's owner as uid:gid.</summary>
    private static string OwnerOf(string path)
    {
        var stat = HostProcesses.Run("stat", "-c", "%u:%g", path);
        Assert.Equal(0, stat.ExitCode);
        return stat.Output.Trim();
    }

    /// <summary>This process's open descriptors and what each refers to.</summary>
    /// <summary>
    /// This process's descriptors, but for the assemblies the runtime keeps open once loaded: specs in parallel load
    /// some (System.Net.NameResolution.dll, once, in CI) while a count runs, and no client code opens one.
    /// </summary>
    private static Dictionary<string, string> OpenDescriptors() =>
        Directory.GetFiles("/proc/self/fd").ToDictionary(f => Path.GetFileName(f), f => Try(() => new FileInfo(f).LinkTarget) ?? "(closed)")
            .Where(d => !d.Value.EndsWith(".dll", StringComparison.Ordinal)).ToDictionary();

    private static string NewDescriptors(Dictionary<string, string> before) =>
        string.Join(", ", OpenDescriptors().Where(d => !before.TryGetValue(d.Key, out var was) || was != d.Value).Select(d => $"{d.Key} → {d.Value}"));

    private static IReadOnlyList<string> DescriptorsUnder(string directory) =>
        OpenDescriptors().Values.Where(t => t.StartsWith(directory + "/", StringComparison.Ordinal)).ToList();

    private static string? Try(Func<string?> read)
    {
        try
        {
            return read();
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Every event the backend was called with, duplicates included (counted, never folded).</summary>
    private sealed class EventLog : IContainerEventBackend
    {
        private readonly ConcurrentQueue<ContainerEvent> _events = new();

        public Task ProcessEventAsync(ContainerEvent e, CancellationToken ct)
        {
            _events.Enqueue(e);
            return Task.CompletedTask;
        }

        public IReadOnlyList<ContainerEvent> Of(string id) => _events.Where(e => e.ContainerId == id).ToList();

        public override string ToString() => string.Join("\n", _events);
    }
}
