using System.CommandLine;
using System.Text.Json;
using ActorRuntime.Configuration;
using ActorRuntime.Io;
using ActorRuntime.Protocol.Ttrpc;
using ActorRuntime.Shims;
using ActorRuntime.Store;
using ActorRuntime.Tasks;
using ActorRuntime.TestKit.Oci;

namespace ActorRuntime.Cli;

/// <summary>`arctl run [--rm] ID -- COMMAND...`: a busybox container through the real shim, its output printed.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var id = new Argument<string>("id") { Description = "container id" };
        var command = new Argument<string[]>("command") { Description = "command and arguments", Arity = ArgumentArity.OneOrMore };
        var keep = new Option<bool>("--keep") { Description = "leave the stopped task in place instead of deleting it" };
        var json = new Option<bool>("--json") { Description = "print the result as JSON (the container's output goes to stderr)" };
        var stateDir = new Option<string?>("--state-dir") { Description = "bundles and sockets (default /run/actorruntime)" };
        var rootDir = new Option<string?>("--root") { Description = "durable data and images (default /var/lib/actorruntime)" };
        var ns = new Option<string?>("--namespace", "-n") { Description = "namespace (default: default)" };

        var run = new Command("run", "run a busybox container through the shim and print its output")
        {
            id, command, keep, json, stateDir, rootDir, ns,
        };
        run.SetAction(async (parse, ct) =>
        {
            var options = new ActorRuntimeOptions
            {
                StateDirectory = parse.GetValue(stateDir),
                RootDirectory = parse.GetValue(rootDir),
                Namespace = parse.GetValue(ns),
            };
            try
            {
                return await RunAsync(options, parse.GetValue(id)!, parse.GetValue(command)!, parse.GetValue(keep),
                    parse.GetValue(json), ct);
            }
            catch (TtrpcException e)
            {
                await Console.Error.WriteLineAsync($"arctl: {e.Code}: {e.Message}");
                return 1;
            }
        });
        return run;
    }

    private static async Task<int> RunAsync(ActorRuntimeOptions options, string id, string[] args, bool keep, bool json,
        CancellationToken ct)
    {
        Identifiers.Validate(id, "container id");
        await using var embedded = await EmbeddedRuntime.StartAsync(options, ct);
        var runtime = embedded.Runtime;
        var settings = runtime.Settings;
        var image = BusyboxImage.Ensure(Path.Combine(settings.RootDirectory, "images", "busybox"));
        using var fifos = ProcessFifos.Create(Path.Combine(settings.StateDirectory, "fifo"), id);
        using var stopReaders = new CancellationTokenSource();
        var stdout = json ? Console.OpenStandardError() : Console.OpenStandardOutput();
        await using var fifoOut = FifoStream.OpenRead(fifos.Stdio.Stdout);
        await using var fifoErr = FifoStream.OpenRead(fifos.Stdio.Stderr);
        var readers = Task.WhenAll(
            CopyUntilStoppedAsync(fifoOut, stdout, stopReaders.Token),
            CopyUntilStoppedAsync(fifoErr, Console.OpenStandardError(), stopReaders.Token));

        var spec = OciSpec.ConfigJson(settings.Namespace, id, new OciContainerSpec(args));
        var mount = BusyboxImage.BindMount(image);
        var pid = await runtime.CreateAsync(id, spec, [mount], fifos.Stdio, ct);
        TaskProtocol.Exited exited;
        try
        {
            await runtime.StartAsync(id, ct);
            exited = await runtime.WaitAsync(id, ct);
        }
        finally
        {
            // The shim closes the FIFOs once the process's output is copied; don't wait forever if it never does.
            stopReaders.CancelAfter(TimeSpan.FromSeconds(5));
            await readers;
            if (!keep)
            {
                try
                {
                    await runtime.KillAsync(id, 9, all: true, CancellationToken.None);
                }
                catch (TtrpcException)
                {
                    // Already stopped.
                }
                await runtime.WaitAsync(id, CancellationToken.None);
                await runtime.DeleteAsync(id, CancellationToken.None);
            }
        }

        if (json)
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                id, pid, exitStatus = exited.ExitStatus, exitedAt = exited.ExitedAt, deleted = !keep,
            }));
        return (int)exited.ExitStatus;
    }

    private static async Task CopyUntilStoppedAsync(Stream fifo, Stream destination, CancellationToken stop)
    {
        try
        {
            await fifo.CopyToAsync(destination, stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The shim never closed its end; what was copied is all there is.
        }
    }
}
