using System.Text.Json;
using System.Text.Json.Nodes;
using ActorRuntime.Hosting;
using ActorRuntime.Oci;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Runtime;

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
                var spec = OciSpec.ConfigJson(runtime.Settings.Namespace, id, new OciContainerSpec(args));
                var pid = await runtime.CreateAsync(id, spec, [new MountSpec(mount.Type, mount.Source, mount.Options.ToList())],
                    ct: ct);
                return new JsonObject { ["id"] = id, ["pid"] = pid };
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
                return Exited(await runtime.DeleteAsync(Id(), ct));
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

    private static JsonObject Exited(TaskProtocol.Exited e) => new()
    {
        ["id"] = e.ContainerId,
        ["pid"] = e.Pid,
        ["exitStatus"] = e.ExitStatus,
        ["exitedAt"] = e.ExitedAt.ToString("o"),
    };
}
