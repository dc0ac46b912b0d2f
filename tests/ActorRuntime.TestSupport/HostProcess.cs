using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;

namespace ActorRuntime.Testing;

/// <summary>A task event as actorruntime-host streamed it, with the bus offset and the host generation that emitted it.</summary>
public sealed record HostEvent(int Generation, long Offset, string Topic, string ContainerId, string ExecId, uint Pid,
    uint ExitStatus)
{
    public override string ToString() => $"g{Generation}#{Offset} {ContainerId}{(ExecId.Length > 0 ? "/" + ExecId : "")} {Topic} pid={Pid} status={ExitStatus}";
}

/// <summary>An error response of actorruntime-host (<c>code</c> is containerd's code name, e.g. NotFound).</summary>
public sealed class HostRequestException(string op, string code, string message)
    : Exception($"{op}: {code}: {message}")
{
    public string Code { get; } = code;
}

/// <summary>
/// Drives one actorruntime-host process (<c>dotnet actorruntime-host.dll ...</c>) over its stdin/stdout JSON-lines
/// protocol: every request carries a seq and waits, bounded, for the response with that seq; streamed
/// <c>{"event":...}</c> lines are collected in <see cref="Events"/>. <see cref="KillAsync"/> SIGKILLs the host process
/// only: its shims are in their own sessions and keep running. Disposal kills it if it is still alive.
/// No test-framework dependency: the restart benchmark drives the host with it too.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonObject>> _pending = new();
    private readonly ConcurrentQueue<HostEvent> _events = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly TaskCompletionSource<JsonObject> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _stdoutPump;
    private readonly Task _stderrPump;
    private readonly Lock _writeLock = new();
    private long _seq;

    private HostProcess(Process process, int generation)
    {
        _process = process;
        Generation = generation;
        _stdoutPump = Task.Run(PumpStdoutAsync);
        _stderrPump = Task.Run(PumpStderrAsync);
    }

    public int Generation { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    /// <summary>The readiness line: reloaded, cleanedUp, loadMs, hostStartMs, sinceProcessStartMs.</summary>
    public JsonObject Ready { get; private set; } = new();

    /// <summary>Time from spawning the process to its readiness line (reload included).</summary>
    public TimeSpan TimeToReady { get; private set; }

    public IReadOnlyList<HostEvent> Events => _events.ToArray();

    /// <summary>The last lines the host wrote to stderr (for failure messages).</summary>
    public string StderrTail => string.Join('\n', _stderr.TakeLast(60));

    /// <summary>
    /// The host's build output: $ACTORRUNTIME_HOST_DLL, else the path this assembly was built with (AssemblyMetadata
    /// "ActorRuntimeHostDll", set in ActorRuntime.TestSupport.csproj), else next to the running program.
    /// </summary>
    public static string DefaultDll()
    {
        var candidates = new List<string?>
        {
            Environment.GetEnvironmentVariable("ACTORRUNTIME_HOST_DLL"),
            typeof(HostProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "ActorRuntimeHostDll")?.Value,
            Path.Combine(AppContext.BaseDirectory, "actorruntime-host.dll"),
        };
        return candidates.FirstOrDefault(c => !string.IsNullOrEmpty(c) && File.Exists(c))
               ?? throw new FileNotFoundException("actorruntime-host.dll not found (build tools/ActorRuntime.Host or set ACTORRUNTIME_HOST_DLL); tried: " +
                                                 string.Join(", ", candidates.Where(c => c is not null)));
    }

    /// <summary>Starts the host and waits (bounded) for its readiness line, i.e. until AwaitLoaded completed.</summary>
    public static async Task<HostProcess> StartAsync(IEnumerable<string> arguments, int generation, TimeSpan readyTimeout,
        string? dll = null)
    {
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // The runtime's diagnostics endpoints (a debugger FIFO pair and an IPC socket in /tmp) are removed at a normal exit
        // only; a host the tests SIGKILL would leave them behind, so hosts started here open none.
        startInfo.Environment["DOTNET_EnableDiagnostics"] = "0";
        startInfo.ArgumentList.Add(dll ?? DefaultDll());
        foreach (var a in arguments) startInfo.ArgumentList.Add(a);
        var stopwatch = Stopwatch.StartNew();
        var host = new HostProcess(Process.Start(startInfo)!, generation);
        try
        {
            var ready = await host._ready.Task.WaitAsync(readyTimeout);
            host.TimeToReady = stopwatch.Elapsed;
            if (ready["ready"]?.GetValue<bool>() != true)
                throw new InvalidOperationException($"host generation {generation} not ready: {ready.ToJsonString()}\n{host.StderrTail}");
            host.Ready = ready;
            return host;
        }
        catch (TimeoutException)
        {
            await host.DisposeAsync();
            throw new TimeoutException($"host generation {generation} not ready within {readyTimeout}\n{host.StderrTail}");
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends one request and returns its (ok) response; throws <see cref="HostRequestException"/> on an error response.</summary>
    public async Task<JsonObject> RequestAsync(JsonObject request, TimeSpan? timeout = null)
    {
        var seq = Interlocked.Increment(ref _seq);
        request["seq"] = seq;
        var op = request["op"]?.GetValue<string>() ?? "?";
        var tcs = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[seq] = tcs;
        try
        {
            lock (_writeLock)
            {
                _process.StandardInput.WriteLine(request.ToJsonString());
                _process.StandardInput.Flush();
            }
            var limit = timeout ?? TimeSpan.FromSeconds(30);
            JsonObject response;
            try
            {
                response = await tcs.Task.WaitAsync(limit);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"host g{Generation}: no response to {request.ToJsonString()} within {limit}\n{StderrTail}");
            }
            if (response["ok"]?.GetValue<bool>() == true) return response;
            throw new HostRequestException(op, response["code"]?.GetValue<string>() ?? "?", response["error"]?.GetValue<string>() ?? "");
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"host g{Generation} is gone ({op}): {e.Message}\n{StderrTail}", e);
        }
        finally
        {
            _pending.TryRemove(seq, out _);
        }
    }

    public Task<JsonObject> RequestAsync(string op, string? id = null, TimeSpan? timeout = null, params (string Key, JsonNode? Value)[] fields)
    {
        var request = new JsonObject { ["op"] = op };
        if (id is not null) request["id"] = id;
        foreach (var (k, v) in fields) request[k] = v;
        return RequestAsync(request, timeout);
    }

    public async Task<uint> CreateAsync(string id, IReadOnlyList<string> args, string? image = null,
        IReadOnlyDictionary<string, string>? labels = null, string? group = null) =>
        (await CreateContainerAsync(id, args, image, labels, group))["pid"]!.GetValue<uint>();

    /// <summary>Create (metadata, then task); the response has the task's <c>pid</c> and the metadata as <c>container</c>.</summary>
    public Task<JsonObject> CreateContainerAsync(string id, IReadOnlyList<string> args, string? image = null,
        IReadOnlyDictionary<string, string>? labels = null, string? group = null)
    {
        var fields = new List<(string, JsonNode?)> { ("args", new JsonArray(args.Select(a => (JsonNode)a).ToArray())) };
        if (image is not null) fields.Add(("image", image));
        if (group is not null) fields.Add(("group", group));
        if (labels is not null)
            fields.Add(("labels", new JsonObject(labels.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)))));
        return RequestAsync("create", id, null, fields.ToArray());
    }

    /// <summary>Every container's metadata (id, labels, runtime, specSha256, createdAt, updatedAt, ...).</summary>
    public async Task<IReadOnlyList<JsonObject>> ContainersAsync() =>
        (await RequestAsync("containers"))["containers"]!.AsArray().Select(c => c!.AsObject()).ToList();

    public async Task<JsonObject> ContainerAsync(string id) => (await RequestAsync("container", id))["container"]!.AsObject();

    /// <summary>Delete task (if any) and metadata; <c>"task":false</c> when the task was already gone.</summary>
    public Task<JsonObject> DeleteContainerAsync(string id) => RequestAsync("delete", id);

    public async Task<uint> StartTaskAsync(string id) => (await RequestAsync("start", id))["pid"]!.GetValue<uint>();

    public Task KillTaskAsync(string id, uint signal, bool all = false) =>
        RequestAsync("kill", id, null, ("signal", signal), ("all", all));

    /// <summary>Waits for the task's exit; past <paramref name="timeout"/> the host answers DeadlineExceeded.</summary>
    public async Task<uint> WaitTaskAsync(string id, TimeSpan timeout) =>
        (await RequestAsync("wait", id, timeout + AnswerGrace, ("timeoutMs", timeout.TotalMilliseconds)))["exitStatus"]!.GetValue<uint>();

    // A bounded request's own deadline is the host's to enforce: ours waits a little longer for its DeadlineExceeded.
    private static readonly TimeSpan AnswerGrace = TimeSpan.FromSeconds(5);

    public Task<JsonObject> StateAsync(string id) => RequestAsync("state", id);

    /// <summary>Deletes the task and the container; its exit status. A task already gone (cleaned up after its shim died) is NotFound.</summary>
    public async Task<uint> DeleteAsync(string id)
    {
        var deleted = await RequestAsync("delete", id);
        return deleted["exitStatus"]?.GetValue<uint>()
               ?? throw new HostRequestException("delete", "NotFound", $"{id}: no task (the container's metadata was deleted)");
    }

    public async Task<IReadOnlyList<string>> ListAsync() =>
        (await RequestAsync("list"))["ids"]!.AsArray().Select(i => i!.GetValue<string>()).ToList();

    public Task<JsonObject> LoadedAsync() => RequestAsync("loaded");

    /// <summary>Adds an exec (not started) running <paramref name="args"/> to a task.</summary>
    public Task ExecAsync(string id, string execId, IReadOnlyList<string> args) =>
        RequestAsync("exec", id, null, ("execId", execId), ("args", new JsonArray(args.Select(a => (JsonNode)a).ToArray())));

    public async Task<uint> StartExecAsync(string id, string execId) =>
        (await RequestAsync("exec-start", id, null, ("execId", execId)))["pid"]!.GetValue<uint>();

    public Task KillExecAsync(string id, string execId, uint signal) =>
        RequestAsync("exec-kill", id, null, ("execId", execId), ("signal", signal));

    public async Task<uint> WaitExecAsync(string id, string execId, TimeSpan timeout) =>
        (await RequestAsync("exec-wait", id, timeout + AnswerGrace, ("execId", execId), ("timeoutMs", timeout.TotalMilliseconds)))["exitStatus"]!
            .GetValue<uint>();

    public async Task<uint> DeleteExecAsync(string id, string execId) =>
        (await RequestAsync("exec-delete", id, null, ("execId", execId)))["exitStatus"]!.GetValue<uint>();

    /// <summary>Fault injection: the host's connection to the container's shim breaks (shutdown(2) on its end); how many were dropped.</summary>
    public async Task<int> DropConnectionAsync(string id) =>
        (await RequestAsync("drop-connection", id))["dropped"]!.GetValue<int>();

    /// <summary>Waits until the host process exits on its own (a fail-point, a crash) and its output is drained.</summary>
    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        await Task.WhenAll(_stdoutPump, _stderrPump).WaitAsync(TimeSpan.FromSeconds(5));
    }

    /// <summary>SIGKILL of the host process only (its shims and containers keep running); waits until it is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                _process.Kill(entireProcessTree: false);
            }
            catch (InvalidOperationException)
            {
                // exited meanwhile
            }
        }
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        // Whatever it wrote before dying is still in the pipe: drain it so Events is complete.
        await Task.WhenAll(_stdoutPump, _stderrPump).WaitAsync(TimeSpan.FromSeconds(5));
    }

    private async Task PumpStdoutAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                JsonObject? o;
                try
                {
                    o = JsonNode.Parse(line)?.AsObject();
                }
                catch (Exception)
                {
                    _stderr.Enqueue("[stdout, not JSON] " + line);
                    continue;
                }
                if (o is null) continue;
                if (o["event"] is JsonObject e)
                    _events.Enqueue(new HostEvent(Generation, e["offset"]!.GetValue<long>(), e["topic"]!.GetValue<string>(),
                        e["containerId"]!.GetValue<string>(), e["execId"]!.GetValue<string>(), e["pid"]!.GetValue<uint>(),
                        e["exitStatus"]!.GetValue<uint>()));
                else if (o.ContainsKey("ready"))
                    _ready.TrySetResult(o);
                else if (o["seq"] is { } s && _pending.TryGetValue(s.GetValue<long>(), out var tcs))
                    tcs.TrySetResult(o);
            }
        }
        finally
        {
            var gone = new InvalidOperationException($"host g{Generation} closed its stdout\n{StderrTail}");
            _ready.TrySetException(gone);
            foreach (var pending in _pending.Values) pending.TrySetException(gone);
        }
    }

    private async Task PumpStderrAsync()
    {
        while (await _process.StandardError.ReadLineAsync() is { } line)
        {
            _stderr.Enqueue(line);
            while (_stderr.Count > 500) _stderr.TryDequeue(out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        catch (Exception)
        {
            // best effort
        }
        _process.Dispose();
    }
}
