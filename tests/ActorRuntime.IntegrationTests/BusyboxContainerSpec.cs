using ActorRuntime.IntegrationTests.Support;
using ActorRuntime.Native;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Oci;
using ActorRuntime.Testing;

namespace ActorRuntime.IntegrationTests;

/// <summary>
/// A whole container life on the real shim with <see cref="OciSpec"/> and <see cref="BusyboxImage"/>, torn down the way
/// containerd does it (Delete, Shutdown, then the <c>delete</c> subcommand and the bundle).
/// </summary>
public sealed class BusyboxContainerSpec
{
    [Fact]
    public async Task A_busybox_container_runs_to_its_exit_code_and_is_torn_down_without_leaks()
    {
        await using var env = new ShimTestEnvironment();
        var bundle = env.CreateBundle("c1", "sh", "-c", "echo hello from $(hostname); exit 3");
        var output = Path.Combine(env.Root, "c1.out");
        await File.WriteAllTextAsync(output, ""); // a plain path must exist; the shim appends to it
        var address = await env.StartShimAsync(bundle);
        var (client, connected) = await env.ConnectAsync(address, "c1");
        await using var connection = client.Connection;

        var created = await client.CreateAsync(new CreateTaskRequest
        {
            Id = "c1",
            Bundle = bundle.Path,
            Rootfs = { ShimTestEnvironment.ImageMount() },
            Stdout = output,
            Stderr = output,
            Options = TypeUrls.Pack(env.Settings.RuncOptions!.ToProtobuf()),
        });
        Assert.True(created.Pid > 0);
        var wait = client.WaitAsync(new WaitRequest { Id = "c1" });
        await client.StartAsync(new StartRequest { Id = "c1" });
        var exited = await wait.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3u, exited.ExitStatus);

        var deleted = await client.DeleteAsync(new DeleteRequest { Id = "c1" });
        Assert.Equal(3u, deleted.ExitStatus);
        Assert.Empty(MountInfo.MountPointsUnder(bundle.RootfsPath));
        Assert.Equal("hello from c1\n", await File.ReadAllTextAsync(output));
        // The busybox image is mounted read-only, never written through.
        Assert.True(File.Exists(Path.Combine(ShimTestEnvironment.ImageDirectory, "bin", "busybox")));

        await ShimTestEnvironment.ShutdownAsync(client, "c1");
        await HostProcesses.WaitUntilGoneAsync((int)connected.ShimPid, TimeSpan.FromSeconds(5));
        // containerd runs `delete` after every shim connection close; on a finished task it still succeeds.
        var cleanup = await DeadShimCleanup.CleanUpAsync(bundle, new BinaryShimLauncher(env.Settings), TimeSpan.FromSeconds(10), env.Logger);
        Assert.NotNull(cleanup.Response);
        Assert.Equal(137u, cleanup.Response.ExitStatus);

        var topics = env.Events.Select(e => e.Topic).ToList();
        Assert.Equal(["/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"], topics);
        Assert.All(env.Events, e => Assert.Equal(env.Namespace, e.Namespace));
        await LeakCheck.AssertCleanAsync(env);
    }

    [Fact]
    public async Task An_exec_built_with_ProcessJson_runs_in_a_running_container()
    {
        await using var env = new ShimTestEnvironment();
        var bundle = env.CreateBundle("c1", "sleep", "1000");
        var output = Path.Combine(env.Root, "exec.out");
        await File.WriteAllTextAsync(output, "");
        var address = await env.StartShimAsync(bundle);
        var (client, connected) = await env.ConnectAsync(address, "c1");
        await using var connection = client.Connection;
        await client.CreateAsync(new CreateTaskRequest
        {
            Id = "c1",
            Bundle = bundle.Path,
            Rootfs = { ShimTestEnvironment.ImageMount() },
            Options = TypeUrls.Pack(env.Settings.RuncOptions!.ToProtobuf()),
        });
        await client.StartAsync(new StartRequest { Id = "c1" });

        await client.ExecAsync(new ExecProcessRequest
        {
            Id = "c1",
            ExecId = "e1",
            Stdout = output,
            Stderr = output,
            Spec = TypeUrls.PackJson(TypeUrls.OciProcess,
                OciSpec.ProcessJson(["sh", "-c", "echo $GREETING in $(pwd); exit 5"], env: ["PATH=/bin", "GREETING=hi"], cwd: "/tmp")),
        });
        var wait = client.WaitAsync(new WaitRequest { Id = "c1", ExecId = "e1" });
        await client.StartAsync(new StartRequest { Id = "c1", ExecId = "e1" });
        Assert.Equal(5u, (await wait.WaitAsync(TimeSpan.FromSeconds(10))).ExitStatus);
        await client.DeleteAsync(new DeleteRequest { Id = "c1", ExecId = "e1" });
        Assert.Equal("hi in /tmp\n", await File.ReadAllTextAsync(output));

        await client.KillAsync(new KillRequest { Id = "c1", Signal = 9 });
        var exited = await client.WaitAsync(new WaitRequest { Id = "c1" }).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(137u, exited.ExitStatus);
        await client.DeleteAsync(new DeleteRequest { Id = "c1" });
        await ShimTestEnvironment.ShutdownAsync(client, "c1");
        await HostProcesses.WaitUntilGoneAsync((int)connected.ShimPid, TimeSpan.FromSeconds(5));
        await DeadShimCleanup.CleanUpAsync(bundle, new BinaryShimLauncher(env.Settings), TimeSpan.FromSeconds(10), env.Logger);

        await LeakCheck.AssertCleanAsync(env);
    }
}
