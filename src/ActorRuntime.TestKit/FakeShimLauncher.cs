using System.Collections.Concurrent;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.TestKit;

/// <summary>
/// An <see cref="IShimLauncher"/> that starts <see cref="FakeShim"/>s instead of shim processes. Plug it in with
/// <c>ActorRuntimeOptions.ShimLauncher = s => launcher.For(s)</c>; then reach any container's shim by id to inject faults.
/// </summary>
public sealed class FakeShimLauncher : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(string Namespace, string Id), FakeShim> _shims = new();
    private readonly string _socketDirectory = Path.Combine("/run/actorruntime-fake", Guid.NewGuid().ToString("N")[..12]);

    /// <summary>When set, `start` fails with this error (a shim that will not start).</summary>
    public TtrpcException? StartFailure { get; set; }

    /// <summary>
    /// When set, `start` writes and returns an address but the shim is already dead, its socket file left behind (start
    /// ok, daemon killed).
    /// </summary>
    public bool StartDeadShims { get; set; }

    /// <summary>When set, `delete` fails with this error (the shim binary's delete could not run); the shim is left as it is.</summary>
    public TtrpcException? DeleteFailure { get; set; }

    /// <summary>
    /// When set, `delete` is as the real binary's: it ends the container's processes but leaves a shim that still serves
    /// running (and its socket in place). Unset, it also kills the shim, which the cleanup of a wedged shim relies on here.
    /// </summary>
    public bool DeleteLeavesLiveShims { get; set; }

    /// <summary>`delete` takes this long before it does anything (a slow shim binary delete).</summary>
    public TimeSpan DeleteDelay { get; set; }

    /// <summary>Applied to each new shim before it serves its first call.</summary>
    public Action<FakeShim>? Configure { get; set; }

    public int DeleteCalls => _deleteCalls;

    private int _deleteCalls;

    /// <summary>The shim of the one container with this id (in whatever namespace).</summary>
    public FakeShim this[string containerId] => _shims.Single(kv => kv.Key.Id == containerId).Value;

    public FakeShim this[string ns, string containerId] => _shims[(ns, containerId)];

    public IReadOnlyCollection<FakeShim> Shims => _shims.Values.ToList();

    public IShimLauncher For(ShimLaunchSettings settings) => new Launcher(this, settings);

    private sealed class Launcher(FakeShimLauncher owner, ShimLaunchSettings settings) : IShimLauncher
    {
        public Task<string> StartAsync(Bundle bundle, CancellationToken ct)
        {
            if (owner.StartFailure is { } failure) return Task.FromException<string>(failure);
            // The same id may exist in two namespaces.
            var directory = Directory.CreateDirectory(Path.Combine(owner._socketDirectory, bundle.Namespace)).FullName;
            var socket = Path.Combine(directory, bundle.Id + ".sock");
            var shim = new FakeShim(socket, bundle.Namespace, settings.TtrpcAddress);
            owner.Configure?.Invoke(shim);
            owner._shims[(bundle.Namespace, bundle.Id)] = shim;
            File.WriteAllText(bundle.AddressPath, shim.Address);
            if (owner.StartDeadShims) return shim.KillAsync().ContinueWith(_ => shim.Address, TaskScheduler.Default);
            return Task.FromResult(shim.Address);
        }

        public async Task<ShimDeleteResult> DeleteAsync(Bundle bundle, TimeSpan timeout, CancellationToken ct, ILogger? logger = null)
        {
            Interlocked.Increment(ref owner._deleteCalls);
            if (owner.DeleteDelay > TimeSpan.Zero) await Task.Delay(owner.DeleteDelay, CancellationToken.None).ConfigureAwait(false);
            if (owner.DeleteFailure is { } failure) throw failure;
            if (!owner._shims.TryGetValue((bundle.Namespace, bundle.Id), out var shim))
                throw new NotFoundException($"no shim for {bundle.Id}: not found");
            var response = shim.CleanupResponse(bundle.Id);
            if (owner.DeleteLeavesLiveShims && !shim.IsDead)
            {
                shim.ForgetTask(bundle.Id);
                return response;
            }
            // Whatever ran is gone afterwards; like a killed daemon it leaves its socket file for the caller to remove.
            await shim.KillAsync().ConfigureAwait(false);
            return response;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var shim in _shims.Values) await shim.DisposeAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(_socketDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
