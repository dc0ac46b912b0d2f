using ActorRuntime.Client;
using ActorRuntime.Client.Remote;
using ActorRuntime.Configuration;
using ActorRuntime.Hosting;
using ActorRuntime.Protocol.Ttrpc;

namespace ActorRuntime.Cli;

/// <summary>
/// One command's connection: actorruntimed over its socket, or (with --embedded, or when no daemon answers at the
/// default address) a runtime inside this process on --root, holding the root's lock for as long as it runs.
/// </summary>
internal sealed class Session : IAsyncDisposable
{
    /// <summary>How long an unasked-for default socket gets to answer before arctl runs the runtime itself.</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);

    private readonly EmbeddedRuntime? _embedded;
    private readonly RootLock? _rootLock;

    private Session(ArctlSettings settings, IContainerClient client, EmbeddedRuntime? embedded, RootLock? rootLock)
    {
        Settings = settings;
        Client = client;
        _embedded = embedded;
        _rootLock = rootLock;
    }

    public ArctlSettings Settings { get; }

    public IContainerClient Client { get; }

    public Output Output => Output.Console(Settings.Json);

    /// <summary>True when the runtime runs inside this arctl.</summary>
    public bool IsEmbedded => _embedded is not null;

    public static async Task<Session> OpenAsync(ArctlSettings settings, CancellationToken ct)
    {
        if (!settings.Embedded && (settings.AddressGiven || File.Exists(settings.Address)))
        {
            var remote = ContainerdContainerClient.Connect(settings.Address, settings.Namespace, settings.FifoDirectory);
            if (settings.AddressGiven) return new Session(settings, remote, null, null);
            if (await AnswersAsync(remote, ct)) return new Session(settings, remote, null, null);
            await remote.DisposeAsync();
        }
        return await OpenEmbeddedAsync(settings, ct);
    }

    private static async Task<bool> AnswersAsync(IContainerClient client, CancellationToken ct)
    {
        using var probe = CancellationTokenSource.CreateLinkedTokenSource(ct);
        probe.CancelAfter(ProbeTimeout);
        try
        {
            await client.VersionAsync(probe.Token);
            return true;
        }
        catch (Exception e) when (e is TtrpcException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            return false;
        }
    }

    private static async Task<Session> OpenEmbeddedAsync(ArctlSettings settings, CancellationToken ct)
    {
        RootLock rootLock;
        try
        {
            rootLock = RootLock.Acquire(settings.Root,
                "wait for the other arctl to finish, talk to the daemon that holds it with --address, " +
                "or give this arctl its own --root and --state");
        }
        catch (InvalidOperationException e)
        {
            throw new FailedPreconditionException(e.Message);
        }
        try
        {
            var embedded = await EmbeddedRuntime.StartAsync(new ActorRuntimeOptions
            {
                RootDirectory = settings.Root,
                StateDirectory = settings.State,
                Namespace = settings.Namespace,
            }, ct);
            return new Session(settings, embedded.Client(settings), embedded, rootLock);
        }
        catch
        {
            rootLock.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        if (_embedded is not null) await _embedded.DisposeAsync();
        _rootLock?.Dispose();
    }
}
