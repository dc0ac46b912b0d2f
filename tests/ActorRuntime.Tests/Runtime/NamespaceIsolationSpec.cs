using ActorRuntime.Events;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Tasks;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Runtime;

/// <summary>
/// One runtime serves every containerd namespace: the same id may run in two of them, and nothing of one is visible or
/// reachable from another (list, state, kill, exec, delete, events, bundles); a restart reloads every namespace's shims.
/// </summary>
public sealed class NamespaceIsolationSpec(ITestOutputHelper output) : RuntimeSpecBase(output)
{
    private const string Other = "other";
    private const string ProcessSpec = """{"args":["sh"],"cwd":"/"}""";

    private async Task<uint> RunInAsync(string ns, string id)
    {
        var runtime = Runtime.InNamespace(ns);
        await runtime.CreateAsync(id, Spec, []);
        return await runtime.StartAsync(id);
    }

    [Fact]
    public async Task The_same_id_runs_in_two_namespaces_and_ending_one_leaves_the_other_running()
    {
        var other = Runtime.InNamespace(Other);
        var homePid = await RunAsync("web");
        var otherPid = await RunInAsync(Other, "web");
        Assert.NotSame(Launcher[Runtime.Namespace, "web"], Launcher[Other, "web"]);
        Assert.Equal(["web"], await Runtime.ListAsync());
        Assert.Equal(["web"], await other.ListAsync());
        Assert.Empty(await Runtime.InNamespace("third").ListAsync());
        await Assert.ThrowsAsync<NotFoundException>(() => Runtime.InNamespace("third").KillAsync("web", 9));

        var wait = other.WaitAsync("web");
        await other.KillAsync("web", 9);
        Assert.Equal((otherPid, 137u), ((await wait.WaitAsync(Bound)).Pid, (await wait).ExitStatus));
        await other.DeleteAsync("web");
        Assert.Empty(await other.ListAsync());
        Assert.False(Directory.Exists(Path.Combine(Settings.StateDirectory, Other, "web")));
        Assert.True(Directory.Exists(BundlePath("web")));
        var home = await Runtime.StateAsync("web");
        Assert.Equal((homePid, ProcessStatus.Running), (home.Pid, home.Status));

        // Each namespace's events carry it; the home container published no exit.
        await QuietAsync();
        var otherExit = Assert.Single(Events, e => e.Topic == Topics.Exit);
        Assert.Equal((Other, "web", otherPid), (otherExit.Namespace, otherExit.ContainerId, otherExit.Pid));
        Assert.Single(Events, e => e.Topic == Topics.Delete && e.Namespace == Other);
        Assert.Equal(2, Events.Count(e => e.Topic == Topics.Start));
        Assert.Single(Events, e => e.Topic == Topics.Start && e.Namespace == Runtime.Namespace);
    }

    [Fact]
    public async Task An_exec_of_one_namespace_is_not_reachable_from_another()
    {
        await RunAsync("web");
        await RunInAsync(Other, "web");
        var other = Runtime.InNamespace(Other);
        await other.ExecAsync("web", "e1", ProcessSpec);
        await other.StartExecAsync("web", "e1");

        await Assert.ThrowsAsync<NotFoundException>(() => Runtime.ExecStateAsync("web", "e1"));
        await Assert.ThrowsAsync<NotFoundException>(() => Runtime.KillExecAsync("web", "e1", 9));
        await Assert.ThrowsAsync<NotFoundException>(() => Runtime.DeleteExecAsync("web", "e1"));
        Assert.Equal(ProcessStatus.Running, (await other.ExecStateAsync("web", "e1")).Status);
    }

    [Fact]
    public async Task A_restart_reloads_the_shims_of_every_namespace()
    {
        var webPid = await RunAsync("web");
        var dbPid = await RunInAsync(Other, "db");
        await StopRuntimeAsync();

        var restarted = await StartRuntimeAsync();
        var loaded = await restarted.AwaitLoadedAsync().WaitAsync(Bound);
        Assert.Equal((2, 0), (loaded.Reloaded, loaded.CleanedUp));
        Assert.Equal(["web"], await restarted.ListAsync());
        Assert.Equal(["db"], await restarted.InNamespace(Other).ListAsync());
        Assert.Equal(webPid, (await restarted.StateAsync("web")).Pid);
        var db = await restarted.InNamespace(Other).StateAsync("db");
        Assert.Equal((dbPid, ProcessStatus.Running), (db.Pid, db.Status));
    }

    public static TheoryData<string> HostileNamespaces => ["", "../x", "a/b", "..", "a\nb"];

    [Theory]
    [MemberData(nameof(HostileNamespaces))]
    public async Task A_hostile_namespace_gets_InvalidArgument_naming_it_and_touches_nothing(string ns)
    {
        await RunAsync("web");
        var hostile = Runtime.InNamespace(ns);
        foreach (var call in new Func<Task>[]
                 {
                     () => hostile.CreateAsync("web", Spec, []), () => hostile.StateAsync("web"), () => hostile.ListAsync(),
                     () => hostile.CreateContainerAsync("web", Spec), () => hostile.ListContainersAsync(),
                 })
        {
            var e = await Assert.ThrowsAsync<InvalidArgumentException>(() => call().WaitAsync(Bound));
            Assert.StartsWith("namespace", e.Message);
        }
        Assert.Equal(["web"], await Runtime.ListAsync());
        Assert.Equal([Runtime.Namespace], Directory.EnumerateDirectories(Settings.StateDirectory).Select(Path.GetFileName));
    }
}
