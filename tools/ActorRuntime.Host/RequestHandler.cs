using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ActorRuntime.Containers;
using ActorRuntime.Hosting;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using ActorRuntime.Oci;

namespace ActorRuntime.Host;

/// <summary>
/// One request line in, one response line out. Requests: <c>{"op":..., "seq":n?, "id":..., ...}</c>; responses:
/// <c>{"seq":n?, "ok":true, ...}</c> or <c>{"seq":n?, "ok":false, "error":"...", "code":"NotFound"}</c>.
/// An optional <c>timeoutMs</c> bounds any request (code DeadlineExceeded when it runs out).
/// </summary>
internal sealed class RequestHandler(ContainerRuntime runtime, EventFeed feed, ShimManagerProtocol.Loaded loaded, double loadMs)
{
    private readonly Lazy<string> _defaultImage = new(() =>
        BusyboxImage.Ensure(Path.Combine(runtime.Settings.RootDirectory, "images", "busybox")));

    public async Task<JsonObject> HandleAsync(string line)
    {
        JsonNode? seq = null;
        try
        {
            var request = JsonNode.Parse(line)?.AsObject() ?? throw new InvalidArgumentException("empty request");
            seq = request["seq"]?.DeepClone();
            using var cts = request["timeoutMs"] is { } t
                ? new CancellationTokenSource(TimeSpan.FromMilliseconds(t.GetValue<double>()))
                : new CancellationTokenSource();
            var result = await DispatchAsync(request, cts.Token);
            result["ok"] = true;
            return WithSeq(result, seq);
        }
        catch (Exception e)
        {
            var (code, message) = e switch
            {
                TtrpcException t => (t.Code.ToString(), t.Message),
                OperationCanceledException or TimeoutException or Akka.Actor.AskTimeoutException =>
                    (nameof(TtrpcCode.DeadlineExceeded), e.Message),
                JsonException or InvalidOperationException or FormatException or ArgumentException or KeyNotFoundException =>
                    (nameof(TtrpcCode.InvalidArgument), e.Message),
                _ => (nameof(TtrpcCode.Unknown), e.ToString()),
            };
            return WithSeq(new JsonObject { ["ok"] = false, ["error"] = message, ["code"] = code }, seq);
        }
    }

    private static JsonObject WithSeq(JsonObject o, JsonNode? seq)
    {
        if (seq is not null) o["seq"] = seq;
        return o;
    }

    private async Task<JsonObject> DispatchAsync(JsonObject r, CancellationToken ct)
    {
        var op = r["op"]?.GetValue<string>() ?? throw new InvalidArgumentException("missing op");
        string Id() => r["id"]?.GetValue<string>() ?? throw new InvalidArgumentException($"{op}: missing id");
        string ExecId() => r["execId"]?.GetValue<string>() ?? throw new InvalidArgumentException($"{op}: missing execId");
        switch (op)
        {
            case "ping":
                return new JsonObject { ["pong"] = true, ["pid"] = Environment.ProcessId };
            case "create":
            {
                var id = Id();
                var args = r["args"]?.AsArray().Select(a => a!.GetValue<string>()).ToArray() is { Length: > 0 } a0
                    ? a0
                    : ["sleep", "1000"];
                var image = r["image"]?.GetValue<string>() ?? _defaultImage.Value;
                var mount = BusyboxImage.BindMount(image);
                // `group`: containers of one group share one shim (the runc shim's io.containerd.runc.v2.group annotation).
                var group = r["group"]?.GetValue<string>();
                var spec = OciSpec.ConfigJson(runtime.Settings.Namespace, id, new OciContainerSpec(args)
                {
                    Annotations = group is null ? null : new Dictionary<string, string> { ["io.containerd.runc.v2.group"] = group },
                });
                var labels = r["labels"]?.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>())
                             ?? new Dictionary<string, string>();
                var runtimeName = r["runtime"]?.GetValue<string>() ?? ContainerRecord.DefaultRuntime;
                // As containerd's client does: the container (metadata) first, then its task. A failed task create
                // leaves the metadata, as in containerd; `delete` removes it.
                var container = await runtime.CreateContainerAsync(id, spec, labels, runtimeName, image: image, ct: ct);
                var pid = await runtime.CreateAsync(id, spec, [mount], ct: ct);
                return new JsonObject { ["id"] = id, ["pid"] = pid, ["container"] = ToJson(container) };
            }
            case "start":
            {
                var id = Id();
                return new JsonObject { ["id"] = id, ["pid"] = await runtime.StartAsync(id, ct) };
            }
            case "kill":
            {
                var id = Id();
                var signal = r["signal"]?.GetValue<uint>() ?? 15;
                await runtime.KillAsync(id, signal, r["all"]?.GetValue<bool>() ?? false, ct);
                return new JsonObject { ["id"] = id };
            }
            case "wait":
                return Exited(await runtime.WaitAsync(Id(), ct));
            case "state":
            {
                var s = await runtime.StateAsync(Id(), ct);
                return new JsonObject
                {
                    ["id"] = s.ContainerId,
                    ["pid"] = s.Pid,
                    ["status"] = s.Status.ToString().ToLowerInvariant(),
                    ["exitStatus"] = s.ExitStatus,
                    ["exitedAt"] = s.ExitedAt?.ToString("o"),
                    ["bundle"] = s.Bundle,
                };
            }
            case "delete":
            {
                // The task first, then the container's metadata. No task (never created, or cleaned up after its
                // shim died) is fine as long as the metadata exists; a task that cannot be deleted keeps both.
                var id = Id();
                JsonObject result;
                try
                {
                    result = Exited(await runtime.DeleteAsync(id, ct));
                    result["task"] = true;
                }
                catch (NotFoundException)
                {
                    await runtime.GetContainerAsync(id, ct); // NotFound when there is neither
                    result = new JsonObject { ["id"] = id, ["task"] = false };
                }
                try
                {
                    await runtime.DeleteContainerAsync(id, ct);
                }
                catch (NotFoundException)
                {
                    // a task created without metadata (not through this host)
                }
                return result;
            }
            case "exec":
            {
                var (id, execId) = (Id(), ExecId());
                var args = r["args"]?.AsArray().Select(a => a!.GetValue<string>()).ToArray() is { Length: > 0 } a1
                    ? a1
                    : ["sleep", "1000"];
                await runtime.ExecAsync(id, execId, OciSpec.ProcessJson(args), ct: ct);
                return new JsonObject { ["id"] = id, ["execId"] = execId };
            }
            case "exec-start":
            {
                var (id, execId) = (Id(), ExecId());
                return new JsonObject { ["id"] = id, ["execId"] = execId, ["pid"] = await runtime.StartExecAsync(id, execId, ct) };
            }
            case "exec-kill":
            {
                var (id, execId) = (Id(), ExecId());
                await runtime.KillExecAsync(id, execId, r["signal"]?.GetValue<uint>() ?? 15, ct);
                return new JsonObject { ["id"] = id, ["execId"] = execId };
            }
            case "exec-wait":
                return Exited(await runtime.WaitExecAsync(Id(), ExecId(), ct));
            case "exec-delete":
                return Exited(await runtime.DeleteExecAsync(Id(), ExecId(), ct));
            case "drop-connection":
            {
                // Fault injection: our connection to the container's shim breaks under the runtime.
                var id = Id();
                var address = Bundle.TryLoad(runtime.Settings.StateDirectory, runtime.Settings.Namespace, id)?.ReadAddress()
                              ?? throw new NotFoundException($"container {id}: no shim address");
                return new JsonObject { ["id"] = id, ["dropped"] = await DroppedConnection.DropAsync(address, ct) };
            }
            case "containers":
                return new JsonObject
                {
                    ["containers"] = new JsonArray((await runtime.ListContainersAsync(ct)).Select(c => (JsonNode)ToJson(c)).ToArray()),
                };
            case "container":
                return new JsonObject { ["container"] = ToJson(await runtime.GetContainerAsync(Id(), ct)) };
            case "list":
                return new JsonObject { ["ids"] = new JsonArray((await runtime.ListAsync(ct)).Select(i => (JsonNode)i).ToArray()) };
            case "loaded":
                return new JsonObject
                {
                    ["reloaded"] = loaded.Reloaded,
                    ["cleanedUp"] = loaded.CleanedUp,
                    ["loadMs"] = Math.Round(loadMs, 1),
                };
            case "events":
            {
                var after = r["afterOffset"]?.GetValue<long>() ?? 0;
                var events = feed.Snapshot().Where(e => e.Offset > after).Select(e => (JsonNode)EventFeed.ToJson(e)).ToArray();
                return new JsonObject { ["events"] = new JsonArray(events), ["durable"] = PersistenceSeam.Durable };
            }
            default:
                throw new InvalidArgumentException($"unknown op {op}");
        }
    }

    /// <summary>A container's metadata; the spec as its SHA-256 (and, with the spec, its length).</summary>
    internal static JsonObject ToJson(ContainerRecord c) => new()
    {
        ["id"] = c.Id,
        ["namespace"] = c.Namespace,
        ["labels"] = new JsonObject(c.Labels.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        ["runtime"] = c.RuntimeName,
        ["image"] = c.Image,
        ["specSha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(c.SpecJson))),
        ["specLength"] = c.SpecJson.Length,
        ["createdAt"] = c.CreatedAt.ToString("o"),
        ["updatedAt"] = c.UpdatedAt.ToString("o"),
    };

    private static JsonObject Exited(TaskProtocol.Exited e) => new()
    {
        ["id"] = e.ContainerId,
        ["execId"] = e.ExecId,
        ["pid"] = e.Pid,
        ["exitStatus"] = e.ExitStatus,
        ["exitedAt"] = e.ExitedAt.ToString("o"),
    };
}
