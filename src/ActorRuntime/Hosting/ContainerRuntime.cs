using System.Collections.Immutable;
using ActorRuntime.Configuration;
using ActorRuntime.Containers;
using ActorRuntime.Events;
using ActorRuntime.Protocol.Events;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using Akka.Actor;

namespace ActorRuntime.Hosting;

/// <summary>
/// The entry point a .NET host injects to create and drive containers. Each call is a message to the ShimManager,
/// routed to the container's shim, task or exec actor; failures come back as typed errors
/// (NotFoundException, AlreadyExistsException, DeadlineExceededException, ...).
/// Every call acts in one containerd namespace: the runtime's default one (<c>actor-runtime.namespace</c>), or the one
/// of the view <see cref="InNamespace"/> returns. Nothing of one namespace is visible or reachable from another.
/// </summary>
public sealed class ContainerRuntime(RuntimeActors actors, RuntimeSettings settings, string? @namespace = null,
    Cluster.ClusterNode? cluster = null)
{
    public RuntimeSettings Settings => settings;

    /// <summary>The namespace this view's calls act in.</summary>
    public string Namespace { get; } = @namespace ?? settings.Namespace;

    /// <summary>
    /// The same runtime seen from <paramref name="ns"/>: its containers, tasks and execs. The name is checked with
    /// containerd's identifier rule where it is used (InvalidArgument naming it).
    /// </summary>
    public ContainerRuntime InNamespace(string ns) => ns == Namespace ? this : new(actors, settings, ns, cluster);

    /// <summary>This node's part of the cluster in cluster mode (routing to other nodes, placement); null on a single node.</summary>
    public Cluster.ClusterNode? Cluster => cluster;

    public RuntimeActors Actors => actors;

    public IActorRef ShimManager => actors.ShimManager;

    public IActorRef EventBus => actors.EventBus;

    /// <summary>
    /// Stops the runtime's actors as a crash would leave things (shims and their containers keep running), the shim manager
    /// first so nothing is left half-done in the stores and the bus.
    /// </summary>
    public async Task StopAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? settings.ShutdownTimeout + settings.CleanupTimeout;
        var failures = new List<Exception>();
        foreach (var actor in actors.All)
        {
            try
            {
                await actor.GracefulStop(limit).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TaskCanceledException or TimeoutException)
            {
                // Stop the rest all the same: a bus left running would be a second writer for the next runtime.
                actor.Tell(PoisonPill.Instance);
                failures.Add(new TimeoutException($"{actor.Path.Name} did not stop within {limit}", e));
            }
        }
        if (failures.Count > 0) throw new AggregateException("the runtime did not stop cleanly", failures);
    }

    /// <summary>Long enough for a shim start plus a call; Wait is bounded only by the caller's token.</summary>
    internal TimeSpan CommandTimeout => settings.LoadTimeout + settings.CallTimeout + settings.ShutdownTimeout + settings.CleanupTimeout;

    /// <summary>Creates the task; <paramref name="runtimeOptions"/> is an encoded Any (runc's Options) for the shim's Create.</summary>
    /// <param name="checkpoint">A checkpoint image directory to restore the task from (runc restore) instead of creating it.</param>
    public async Task<uint> CreateAsync(string containerId, string specJson, IReadOnlyList<MountSpec> rootfs, Stdio? stdio = null,
        CancellationToken ct = default, byte[]? runtimeOptions = null, string? checkpoint = null) =>
        (await Send<TaskProtocol.Created>(new TaskProtocol.Create(containerId, specJson, rootfs, stdio ?? Stdio.Null,
            Checkpoint: checkpoint, RuntimeOptions: runtimeOptions), ct)).Pid;

    public async Task<uint> StartAsync(string containerId, CancellationToken ct = default) =>
        (await Send<TaskProtocol.Started>(new TaskProtocol.Start(containerId), ct)).Pid;

    public Task KillAsync(string containerId, uint signal, bool all = false, CancellationToken ct = default) =>
        Send<TaskProtocol.Done>(new TaskProtocol.Kill(containerId, signal, all), ct);

    public Task PauseAsync(string containerId, CancellationToken ct = default) =>
        Send<TaskProtocol.Done>(new TaskProtocol.Pause(containerId), ct);

    public Task ResumeAsync(string containerId, CancellationToken ct = default) =>
        Send<TaskProtocol.Done>(new TaskProtocol.Resume(containerId), ct);

    public Task ResizePtyAsync(string containerId, uint width, uint height, CancellationToken ct = default) =>
        Send<TaskProtocol.Done>(new TaskProtocol.ResizePty(containerId, width, height), ct);

    public Task CloseIOAsync(string containerId, CancellationToken ct = default) =>
        Send<TaskProtocol.Done>(new TaskProtocol.CloseIO(containerId), ct);

    public Task CheckpointAsync(string containerId, CheckpointOptions options, CancellationToken ct = default) =>
        Send<TaskProtocol.Done>(new TaskProtocol.Checkpoint(containerId, options), ct);

    public Task UpdateAsync(string containerId, string resourcesJson, CancellationToken ct = default) =>
        Send<TaskProtocol.Done>(new TaskProtocol.Update(containerId, resourcesJson), ct);

    public Task<TaskProtocol.Exited> WaitAsync(string containerId, CancellationToken ct = default) =>
        Send<TaskProtocol.Exited>(new TaskProtocol.Wait(containerId), ct, unbounded: true);

    public Task<TaskProtocol.ProcessState> StateAsync(string containerId, CancellationToken ct = default) =>
        Send<TaskProtocol.ProcessState>(new TaskProtocol.State(containerId), ct);

    public Task<TaskProtocol.PidList> PidsAsync(string containerId, CancellationToken ct = default) =>
        Send<TaskProtocol.PidList>(new TaskProtocol.Pids(containerId), ct);

    public Task<TaskProtocol.StatsResult> StatsAsync(string containerId, CancellationToken ct = default) =>
        Send<TaskProtocol.StatsResult>(new TaskProtocol.Stats(containerId), ct);

    /// <summary>Deletes a stopped task; returns once the shim has exited and its bundle is gone.</summary>
    public Task<TaskProtocol.Exited> DeleteAsync(string containerId, CancellationToken ct = default) =>
        Send<TaskProtocol.Exited>(new TaskProtocol.Delete(containerId), ct);

    public Task ExecAsync(string containerId, string execId, string processSpecJson, Stdio? stdio = null, CancellationToken ct = default) =>
        Send<TaskProtocol.Done>(new TaskProtocol.Exec(containerId, execId, processSpecJson, stdio ?? Stdio.Null), ct);

    public async Task<uint> StartExecAsync(string containerId, string execId, CancellationToken ct = default) =>
        (await Send<TaskProtocol.Started>(new TaskProtocol.StartExec(containerId, execId), ct)).Pid;

    public Task KillExecAsync(string containerId, string execId, uint signal, CancellationToken ct = default) =>
        Send<TaskProtocol.Done>(new TaskProtocol.KillExec(containerId, execId, signal), ct);

    public Task CloseExecIOAsync(string containerId, string execId, CancellationToken ct = default) =>
        Send<TaskProtocol.Done>(new TaskProtocol.CloseExecIO(containerId, execId), ct);

    public Task ResizeExecPtyAsync(string containerId, string execId, uint width, uint height, CancellationToken ct = default) =>
        Send<TaskProtocol.Done>(new TaskProtocol.ResizeExecPty(containerId, execId, width, height), ct);

    public Task<TaskProtocol.Exited> WaitExecAsync(string containerId, string execId, CancellationToken ct = default) =>
        Send<TaskProtocol.Exited>(new TaskProtocol.WaitExec(containerId, execId), ct, unbounded: true);

    public Task<TaskProtocol.ProcessState> ExecStateAsync(string containerId, string execId, CancellationToken ct = default) =>
        Send<TaskProtocol.ProcessState>(new TaskProtocol.ExecState(containerId, execId), ct);

    public Task<TaskProtocol.Exited> DeleteExecAsync(string containerId, string execId, CancellationToken ct = default) =>
        Send<TaskProtocol.Exited>(new TaskProtocol.DeleteExec(containerId, execId), ct);

    /// <summary>The ids of this namespace's tasks.</summary>
    public async Task<IReadOnlyList<string>> ListAsync(CancellationToken ct = default) =>
        (await AskFor<ShimManagerProtocol.TaskList>(actors.ShimManager, new ShimManagerProtocol.ListTasks(Namespace), ct)).ContainerIds;

    /// <summary>Counters of the one door through which exits enter the bus (witnesses by source, entered, dropped).</summary>
    public Task<ShimManagerProtocol.ExitStats> ExitStatsAsync(CancellationToken ct = default) =>
        actors.ShimManager.Ask<ShimManagerProtocol.ExitStats>(new ShimManagerProtocol.GetExitStats(), CommandTimeout, ct);

    /// <summary>
    /// Completes once every shim found on disk at start-up was reloaded or cleaned up and the event bus has recovered.
    /// Each shim loads under the load timeout, in parallel; a dead one then costs at most the cleanup timeout. In cluster
    /// mode the node first joins and asks the node-loss warden what to fence, which waits for as long as the cluster
    /// takes to admit it (a node restarted before its old incarnation was removed waits for that removal): only
    /// <paramref name="ct"/> ends that wait, and the shims' own timeouts bound the load after it.
    /// </summary>
    public Task<ShimManagerProtocol.Loaded> AwaitLoadedAsync(CancellationToken ct = default) =>
        actors.ShimManager.Ask<ShimManagerProtocol.Loaded>(new ShimManagerProtocol.AwaitLoaded(),
            cluster is null ? settings.LoadTimeout + settings.CleanupTimeout + TimeSpan.FromSeconds(5) : null, ct);

    // ---- container metadata (containerd's containers service) ----

    /// <summary>
    /// Records a container's metadata; times are set by the container store. AlreadyExists for a taken id. Publishes
    /// <c>/containers/create</c>, as do Update and Delete their topics, once the store has the change, as containerd does.
    /// </summary>
    public async Task<ContainerRecord> CreateContainerAsync(string id, string specJson, IReadOnlyDictionary<string, string>? labels = null,
        string runtimeName = ContainerRecord.DefaultRuntime, byte[]? runtimeOptions = null, string image = "",
        CancellationToken ct = default)
    {
        await AskFor<NamespaceRecord>(actors.Namespaces, new NamespaceStoreProtocol.Ensure(Namespace), ct).ConfigureAwait(false);
        var created = await AskContainers<ContainerRecord>(new ContainerStoreProtocol.Create(new ContainerRecord(Namespace, id, specJson,
            runtimeName, runtimeOptions, (labels ?? new Dictionary<string, string>()).ToImmutableSortedDictionary(StringComparer.Ordinal),
            image, default, default)), ct).ConfigureAwait(false);
        var runtime = new ContainerCreate.Types.Runtime { Name = created.RuntimeName, Options = OptionsAny(created.RuntimeOptions) };
        await PublishAsync("/containers/create", new ContainerCreate { Id = created.Id, Image = created.Image, Runtime = runtime },
            created.Id, ct).ConfigureAwait(false);
        return created;
    }

    public Task<ContainerRecord> GetContainerAsync(string id, CancellationToken ct = default) =>
        AskContainers<ContainerRecord>(new ContainerStoreProtocol.Get(Namespace, id), ct);

    public async Task<IReadOnlyList<ContainerRecord>> ListContainersAsync(CancellationToken ct = default) =>
        (await AskContainers<ContainerStoreProtocol.Containers>(new ContainerStoreProtocol.List(Namespace), ct)).Items;

    /// <summary>
    /// Replaces the labels and/or the spec given; with <paramref name="paths"/>, containerd's field-mask update
    /// (see <see cref="ContainerStoreProtocol.Update"/>).
    /// </summary>
    public async Task<ContainerRecord> UpdateContainerAsync(string id, IReadOnlyDictionary<string, string>? labels = null,
        string? specJson = null, IReadOnlyList<string>? paths = null, CancellationToken ct = default)
    {
        var updated = await AskContainers<ContainerRecord>(new ContainerStoreProtocol.Update(Namespace, id, labels, specJson, paths), ct)
            .ConfigureAwait(false);
        await PublishAsync("/containers/update", new ContainerUpdate { Id = updated.Id, Image = updated.Image, Labels = { updated.Labels } },
            updated.Id, ct).ConfigureAwait(false);
        return updated;
    }

    public async Task DeleteContainerAsync(string id, CancellationToken ct = default)
    {
        await AskContainers<ContainerStoreProtocol.Deleted>(new ContainerStoreProtocol.Delete(Namespace, id), ct).ConfigureAwait(false);
        await PublishAsync("/containers/delete", new ContainerDelete { Id = id }, id, ct).ConfigureAwait(false);
    }

    // ---- leases (containerd's leases service: recorded, nothing collected) ----

    /// <summary>AlreadyExists for a taken id; an empty id gets a new one, as containerd makes up.</summary>
    public Task<LeaseRecord> CreateLeaseAsync(string id, IReadOnlyDictionary<string, string>? labels = null, CancellationToken ct = default) =>
        AskFor<LeaseRecord>(actors.Leases, new LeaseStoreProtocol.Create(Namespace, id.Length > 0 ? id : NewLeaseId(),
            labels ?? new Dictionary<string, string>()), ct);

    public async Task<IReadOnlyList<LeaseRecord>> ListLeasesAsync(CancellationToken ct = default) =>
        (await AskFor<LeaseStoreProtocol.Leases>(actors.Leases, new LeaseStoreProtocol.List(Namespace), ct)).Items;

    /// <summary>NotFound for an unknown lease.</summary>
    public Task DeleteLeaseAsync(string id, CancellationToken ct = default) =>
        AskFor<LeaseStoreProtocol.Deleted>(actors.Leases, new LeaseStoreProtocol.Delete(Namespace, id), ct);

    // containerd's shape (<nanoseconds>-<random>), in hex so it always passes the identifier rule.
    private static string NewLeaseId() =>
        $"{DateTimeOffset.UtcNow.Ticks % 10_000_000 * 100}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}";

    // ---- namespaces (containerd's namespaces service) ----
    // Their events go out in this view's namespace, as containerd's go out in the caller's (the name is in the event).

    /// <summary>The namespace with its labels; one never created has none (containerd answers it all the same).</summary>
    public Task<NamespaceRecord> GetNamespaceAsync(string name, CancellationToken ct = default) =>
        AskFor<NamespaceRecord>(actors.Namespaces, new NamespaceStoreProtocol.Get(name), ct);

    public async Task<IReadOnlyList<NamespaceRecord>> ListNamespacesAsync(CancellationToken ct = default) =>
        (await AskFor<NamespaceStoreProtocol.Namespaces>(actors.Namespaces, new NamespaceStoreProtocol.List(), ct)).Items;

    /// <summary>AlreadyExists for a taken name. Publishes <c>/namespaces/create</c> (Update and Delete: their topics).</summary>
    public async Task<NamespaceRecord> CreateNamespaceAsync(string name, IReadOnlyDictionary<string, string>? labels = null,
        CancellationToken ct = default)
    {
        var created = await AskFor<NamespaceRecord>(actors.Namespaces,
            new NamespaceStoreProtocol.Create(name, labels ?? new Dictionary<string, string>()), ct).ConfigureAwait(false);
        await PublishAsync("/namespaces/create", new NamespaceCreate { Name = created.Name, Labels = { created.Labels } }, "", ct)
            .ConfigureAwait(false);
        return created;
    }

    /// <summary>containerd's field-mask update of the labels (see <see cref="NamespaceStoreProtocol.Update"/>).</summary>
    public async Task<NamespaceRecord> UpdateNamespaceAsync(string name, IReadOnlyDictionary<string, string> labels,
        IReadOnlyList<string> paths, CancellationToken ct = default)
    {
        var updated = await AskFor<NamespaceRecord>(actors.Namespaces, new NamespaceStoreProtocol.Update(name, labels, paths), ct)
            .ConfigureAwait(false);
        await PublishAsync("/namespaces/update", new NamespaceUpdate { Name = updated.Name, Labels = { updated.Labels } }, "", ct)
            .ConfigureAwait(false);
        return updated;
    }

    /// <summary>
    /// NotFound for a namespace never created; FailedPrecondition while it still has containers.
    /// </summary>
    public async Task DeleteNamespaceAsync(string name, CancellationToken ct = default)
    {
        var stillHas = Identifiers.Check(name, "namespace") is null
            && (await InNamespace(name).ListContainersAsync(ct).ConfigureAwait(false)).Count > 0
            ? new[] { "containers" }
            : [];
        await AskFor<NamespaceStoreProtocol.Deleted>(actors.Namespaces, new NamespaceStoreProtocol.Delete(name, stillHas), ct)
            .ConfigureAwait(false);
        await PublishAsync("/namespaces/delete", new NamespaceDelete { Name = name }, "", ct).ConfigureAwait(false);
    }

    // ---- events (containerd's events service) ----

    /// <summary>
    /// An event a client publishes or forwards: it enters the bus as a shim's forwarded event does (a task's exit or
    /// delete through the one door for exits). Returns once offered, as containerd returns once it has broadcast.
    /// </summary>
    public Task OfferEventAsync(TaskEvent e, CancellationToken ct = default) =>
        actors.ShimManager.Ask<ShimManagerProtocol.Offered>(new ShimManagerProtocol.Offer(e), CommandTimeout, ct);

    /// <summary>
    /// Our own event of a metadata change, in this view's namespace, once the bus has acknowledged it (so a subscriber
    /// that sees the call return sees its event; containerd also fails the call when the publish fails).
    /// </summary>
    private async Task PublishAsync(string topic, Google.Protobuf.IMessage message, string id, CancellationToken ct)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(CommandTimeout);
        await AcknowledgedPublish.UntilAcknowledgedAsync(actors.EventBus,
            EventMessages.Of(Namespace, topic, DateTimeOffset.UtcNow, message, id), Exits.DefaultAckTimeout,
            MetadataEventRetry, bounded.Token).ConfigureAwait(false);
    }

    // The default back-off: the attempts are bounded by the command timeout whatever it says.
    private static readonly PersistenceBackoff MetadataEventRetry = PersistenceBackoff.Create(Akka.Configuration.Config.Empty);

    /// <summary>
    /// The runtime options as containerd keeps them (an encoded Any, e.g. containerd.runc.v1.Options); null when there are
    /// none or they are not one (no type URL), so a subscriber never gets an Any it cannot decode.
    /// </summary>
    private static Google.Protobuf.WellKnownTypes.Any? OptionsAny(byte[]? options)
    {
        if (options is not { Length: > 0 }) return null;
        try
        {
            var any = Google.Protobuf.WellKnownTypes.Any.Parser.ParseFrom(options);
            return any.TypeUrl.Length > 0 ? any : null;
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            return null;
        }
    }

    private Task<T> AskContainers<T>(object command, CancellationToken ct) => AskFor<T>(actors.Containers, command, ct);

    /// <summary>The one way a reply is read: the expected record, or the runtime's typed error thrown.</summary>
    private async Task<T> AskFor<T>(IActorRef actor, object command, CancellationToken ct, bool unbounded = false)
    {
        var reply = await actor.Ask<object>(command, unbounded ? null : CommandTimeout, ct).ConfigureAwait(false);
        var asked = command is TaskProtocol.InNamespace inNamespace ? inNamespace.Command : command;
        return reply switch
        {
            T result => result,
            TaskProtocol.Failed failed => throw failed.ToException(),
            _ => throw new InvalidOperationException($"unexpected reply {reply.GetType().Name} to {asked.GetType().Name}"),
        };
    }

    private Task<T> Send<T>(IWithContainerId command, CancellationToken ct, bool unbounded = false) =>
        AskFor<T>(actors.ShimManager, new TaskProtocol.InNamespace(Namespace, command), ct, unbounded);
}
