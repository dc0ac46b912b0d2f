using ActorRuntime.Tasks;
using Xunit.Abstractions;

namespace ActorRuntime.Tests.Runtime;

/// <summary>A delete interrupted after its rename leaves a hidden <c>.&lt;id&gt;.deleting-*</c> directory; start-up removes it.</summary>
public sealed class InterruptedDeleteSpec(ITestOutputHelper output) : RuntimeSpecBase(output)
{
    [Fact]
    public async Task Half_deleted_bundles_are_removed_at_start_up_and_nothing_else_is()
    {
        await RunAsync("c1");
        var namespaceDirectory = Path.Combine(Settings.StateDirectory, Settings.Namespace);
        // As Bundle.Delete leaves it when the runtime dies between the rename and the recursive delete.
        var halfDeleted = Path.Combine(namespaceDirectory, ".gone.deleting-0123456789ab");
        Directory.CreateDirectory(Path.Combine(halfDeleted, "rootfs"));
        await File.WriteAllTextAsync(Path.Combine(halfDeleted, "config.json"), Spec);
        var notOurs = Path.Combine(namespaceDirectory, ".gone.deleting-later");
        var hidden = Path.Combine(namespaceDirectory, ".keep");
        Directory.CreateDirectory(notOurs);
        Directory.CreateDirectory(hidden);

        await StopRuntimeAsync();
        await StartRuntimeAsync();
        await Runtime.AwaitLoadedAsync().WaitAsync(Bound);

        Assert.False(Directory.Exists(halfDeleted), "the half-deleted bundle is still there");
        Assert.True(Directory.Exists(notOurs));
        Assert.True(Directory.Exists(hidden));
        Assert.Equal(["c1"], await Runtime.ListAsync());
        Assert.Equal(ProcessStatus.Running, (await Runtime.StateAsync("c1")).Status);
    }
}
