using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Tasks;
using Akka.Actor;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Runtime;

/// <summary>
/// No bad input to one container may restart the manager or touch another container: every command with a hostile id is
/// answered InvalidArgument (containerd's code and words), the manager is the same incarnation that never restarted, and
/// healthy containers carry on.
/// </summary>
public sealed class BadInputSpec(ITestOutputHelper output) : RuntimeSpecBase(output)
{
    private const string ProcessSpec = """{"args":["sh"],"cwd":"/"}""";

    /// <summary>Hostile ids and the words containerd's error uses for each.</summary>
    public static readonly TheoryData<string?, string> Hostile = new()
    {
        { "e\n", "must match" },
        { "../x", "must match" },
        { "a\0b", "must match" },
        { "a/b", "must match" },
        { "-x", "must match" },
        { "x y", "must match" },
        { new string('a', 77), "greater than maximum length (76 characters)" },
        { "", "must not be empty" },
        { null, "must not be empty" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public async Task Hostile_ids_get_InvalidArgument_and_neither_restart_the_manager_nor_touch_other_containers(string? id, string problem)
    {
        var restarts = CreateTestProbe();
        Sys.EventStream.Subscribe(restarts, typeof(ShimManagerProtocol.Restarting));
        await RunAsync("c1");
        await RunAsync("c2");
        var manager = await Manager.Ask<ActorIdentity>(new Identify(1), Bound);
        var bad = id!;

        var containerCommands = new (string Name, Func<Task> Call)[]
        {
            ("create", () => Runtime.CreateAsync(bad, Spec, [])),
            ("start", () => Runtime.StartAsync(bad)),
            ("kill", () => Runtime.KillAsync(bad, 9)),
            ("pause", () => Runtime.PauseAsync(bad)),
            ("state", () => Runtime.StateAsync(bad)),
            ("pids", () => Runtime.PidsAsync(bad)),
            ("wait", () => Runtime.WaitAsync(bad)),
            ("delete", () => Runtime.DeleteAsync(bad)),
            ("exec", () => Runtime.ExecAsync(bad, "e1", ProcessSpec)),
            ("start exec", () => Runtime.StartExecAsync(bad, "e1")),
            ("exec state", () => Runtime.ExecStateAsync(bad, "e1")),
            ("container get", () => Runtime.GetContainerAsync(bad)),
            ("container update", () => Runtime.UpdateContainerAsync(bad, new Dictionary<string, string>())),
            ("container delete", () => Runtime.DeleteContainerAsync(bad)),
            ("container create", () => Runtime.CreateContainerAsync(bad, Spec)),
        };
        var execCommands = new (string Name, Func<Task> Call)[]
        {
            ("exec", () => Runtime.ExecAsync("c1", bad, ProcessSpec)),
            ("start exec", () => Runtime.StartExecAsync("c1", bad)),
            ("kill exec", () => Runtime.KillExecAsync("c1", bad, 9)),
            ("close exec io", () => Runtime.CloseExecIOAsync("c1", bad)),
            ("resize exec pty", () => Runtime.ResizeExecPtyAsync("c1", bad, 80, 24)),
            ("exec state", () => Runtime.ExecStateAsync("c1", bad)),
            ("wait exec", () => Runtime.WaitExecAsync("c1", bad)),
            ("delete exec", () => Runtime.DeleteExecAsync("c1", bad)),
        };
        foreach (var (what, commands) in new[] { ("container id", containerCommands), ("exec id", execCommands) })
        {
            foreach (var (name, call) in commands)
            {
                var e = await Assert.ThrowsAsync<InvalidArgumentException>(() => call().WaitAsync(Bound));
                Assert.True(e.Message.StartsWith(what, StringComparison.Ordinal) && e.Message.Contains(problem)
                    && e.Message.EndsWith(": invalid argument", StringComparison.Ordinal), $"{name}: {e.Message}");
                // The hostile id is quoted with its control characters escaped, never raw.
                Assert.DoesNotContain('\n', e.Message);
                Assert.DoesNotContain('\0', e.Message);
            }
        }

        // Same incarnation, never restarted: a restart would have published Restarting before this answer.
        Assert.Equal(manager.Subject, (await Manager.Ask<ActorIdentity>(new Identify(2), Bound)).Subject);
        Assert.Equal(["c1", "c2"], await Runtime.ListAsync());
        Assert.False(restarts.HasMessages, "the shim manager restarted");

        // The healthy containers answer as before.
        Assert.Equal(ProcessStatus.Running, (await Runtime.StateAsync("c1")).Status);
        Assert.Equal(ProcessStatus.Running, (await Runtime.StateAsync("c2")).Status);
        await Runtime.ExecAsync("c1", "e1", ProcessSpec);
        var execPid = await Runtime.StartExecAsync("c1", "e1");
        var execWait = Runtime.WaitExecAsync("c1", "e1");
        await Launcher["c1"].ExitAsync("c1", 3, "e1");
        Assert.Equal((execPid, 3u), ((await execWait.WaitAsync(Bound)).Pid, (await execWait).ExitStatus));
        Assert.Equal(3u, (await Runtime.DeleteExecAsync("c1", "e1")).ExitStatus);
        foreach (var (container, status) in new[] { ("c1", 1u), ("c2", 2u) })
        {
            var wait = Runtime.WaitAsync(container);
            await Launcher[container].ExitAsync(container, status);
            Assert.Equal(status, (await wait.WaitAsync(Bound)).ExitStatus);
            Assert.Equal(status, (await Runtime.DeleteAsync(container)).ExitStatus);
        }
        Assert.Empty(await Runtime.ListAsync());
        Assert.False(restarts.HasMessages, "the shim manager restarted");
    }
}
