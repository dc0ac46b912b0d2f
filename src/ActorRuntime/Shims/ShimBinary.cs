using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using ActorRuntime.Native;
using ActorRuntime.Protocol;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Protocol.Ttrpc;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorRuntime.Shims;

/// <summary>
/// Runs the shim binary's <c>start</c> and <c>delete</c> subcommands exactly as containerd 1.6's runtime-v2 does.
/// <para>
/// Failure contract: <c>start</c> can fail outright, or print an address whose daemon is already dead (for instance
/// killed, or unable to open its log). Either way the caller must then clean up after it with
/// <see cref="DeadShimCleanup"/>: <see cref="DeleteAsync"/> (which kills whatever runc container the shim left, removes
/// runc state and unmounts rootfs), the stale socket of a printed address, and finally the bundle.
/// </para>
/// </summary>
public static class ShimBinary
{
    /// <summary>
    /// Runs <c>&lt;shim&gt; -namespace ns -address grpc -publish-binary p -id id start</c> in the bundle and returns the
    /// printed socket address (<c>unix:///run/containerd/s/&lt;hash&gt;</c>). The bundle's <c>log</c> FIFO must already
    /// have a reader (<see cref="ShimLogPipe"/>): without one the daemon freezes, so that is checked first.
    /// Cancelling <paramref name="ct"/> (the caller's overall timeout) kills the process.
    /// </summary>
    public static async Task<string> StartAsync(Bundle bundle, ShimLaunchSettings settings, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentNullException.ThrowIfNull(settings);
        Identifiers.Validate(bundle.Namespace, "namespace");
        var binary = ResolveBinary(settings.ShimBinary);
        EnsureBundleDirectory(bundle);
        EnsureLogHasReader(bundle);

        var arguments = CommonArguments(bundle, settings);
        if (settings.Debug) arguments.Add("-debug");
        arguments.Add("start");

        // containerd sends the options as a google.protobuf.Any with the bare type URL; nothing when unset.
        var stdin = settings.RuncOptions is { } options ? TypeUrls.Pack(options.ToProtobuf()).ToByteArray() : [];

        using var process = Launch(binary, arguments, bundle, settings);
        using var killOnCancel = ct.Register(() => Kill(process));

        // containerd reads stdout and stderr as one combined stream (CombinedOutput). Two pipes read concurrently and
        // appended in arrival order give the same text without a shell or dup2 in the child.
        var combined = new CombinedOutput();
        var stdoutTask = combined.CopyAsync(process.StandardOutput.BaseStream);
        var stderrTask = combined.CopyAsync(process.StandardError.BaseStream);
        await WriteAndCloseStdinAsync(process, stdin).ConfigureAwait(false);
        // The daemon gets /dev/null for its stdio, so EOF on both pipes comes when `start` itself exits.
        await Task.WhenAll(stdoutTask, stderrTask).ConfigureAwait(false);
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();

        var output = combined.Text.Trim();
        if (process.ExitCode != 0)
            throw new TtrpcException(TtrpcCode.Unknown,
                $"{binary} start for {bundle.Namespace}/{bundle.Id} failed (exit status {process.ExitCode}): {output}");
        if (output.Length == 0 || output.Any(char.IsWhiteSpace))
            throw new TtrpcException(TtrpcCode.Unknown,
                $"{binary} start for {bundle.Namespace}/{bundle.Id} printed no usable address: \"{output}\"");

        bundle.WriteShimBinaryPath(binary);
        return output;
    }

    /// <summary>
    /// Runs <c>&lt;shim&gt; ... -id id -bundle path delete</c> in the bundle: the shim kills and deletes its runc
    /// container, unmounts rootfs and prints a raw DeleteResponse, returned as <see cref="ShimDeleteResult"/>. Its stderr (logrus lines) is logged as
    /// warnings. Killed and failed with <see cref="DeadlineExceededException"/> after <paramref name="timeout"/>.
    /// </summary>
    public static async Task<ShimDeleteResult> DeleteAsync(Bundle bundle, ShimLaunchSettings settings, TimeSpan timeout,
        CancellationToken ct, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentNullException.ThrowIfNull(settings);
        Identifiers.Validate(bundle.Namespace, "namespace");
        logger ??= NullLogger.Instance;
        // A restarted runtime uses the binary the shim was started with, as containerd does with shim-binary-path.
        var binary = ResolveBinary(bundle.ReadShimBinaryPath() ?? settings.ShimBinary);
        EnsureBundleDirectory(bundle);

        var arguments = CommonArguments(bundle, settings);
        arguments.Add("-bundle");
        arguments.Add(bundle.Path);
        if (settings.Debug) arguments.Add("-debug");
        arguments.Add("delete");

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        using var process = Launch(binary, arguments, bundle, settings);
        using var killOnCancel = deadline.Token.Register(() => Kill(process));

        var stdoutTask = ReadAllBytesAsync(process.StandardOutput.BaseStream);
        var stderrTask = ReadAllBytesAsync(process.StandardError.BaseStream);
        await WriteAndCloseStdinAsync(process, []).ConfigureAwait(false);
        await Task.WhenAll(stdoutTask, stderrTask).ConfigureAwait(false);
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);

        var stderr = Encoding.UTF8.GetString(await stderrTask.ConfigureAwait(false)).Trim();
        foreach (var line in stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            logger.LogWarning("shim delete {Namespace}/{Id}: {Line}", bundle.Namespace, bundle.Id, line);

        ct.ThrowIfCancellationRequested();
        if (deadline.IsCancellationRequested)
            throw new DeadlineExceededException(
                $"{binary} delete for {bundle.Namespace}/{bundle.Id} did not finish within {timeout}; killed: context deadline exceeded");
        if (process.ExitCode != 0)
            throw new TtrpcException(TtrpcCode.Unknown,
                $"{binary} delete for {bundle.Namespace}/{bundle.Id} failed (exit status {process.ExitCode}): {stderr}");
        try
        {
            return ShimDeleteResult.From(DeleteResponse.Parser.ParseFrom(await stdoutTask.ConfigureAwait(false)));
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new TtrpcException(TtrpcCode.Unknown,
                $"{binary} delete for {bundle.Namespace}/{bundle.Id} printed no DeleteResponse: {e.Message}", e);
        }
    }

    /// <summary>An absolute path for <paramref name="nameOrPath"/>: a path is taken as is, a bare name is looked up on PATH.</summary>
    public static string ResolveBinary(string nameOrPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrPath);
        if (nameOrPath.Contains('/'))
        {
            var full = Path.GetFullPath(nameOrPath);
            if (!File.Exists(full))
                throw new NotFoundException($"shim binary {full}: not found");
            return full;
        }
        var searchPath = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
        foreach (var directory in searchPath.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, nameOrPath);
            if (File.Exists(candidate) && IsExecutable(candidate)) return Path.GetFullPath(candidate);
        }
        throw new NotFoundException($"shim binary {nameOrPath}: executable file not found in $PATH");
    }

    private static bool IsExecutable(string path) => Libc.Access(path, Libc.X_OK) == 0;

    private static List<string> CommonArguments(Bundle bundle, ShimLaunchSettings settings) =>
    [
        "-namespace", bundle.Namespace,
        "-address", settings.GrpcAddress,
        "-publish-binary", settings.PublishBinary,
        "-id", bundle.Id,
    ];

    private static void EnsureBundleDirectory(Bundle bundle)
    {
        if (!Directory.Exists(bundle.Path))
            throw new NotFoundException($"bundle {bundle.Namespace}/{bundle.Id}: not found");
    }

    /// <summary>
    /// The daemon opens <c>log</c> write-only as its stderr: a missing FIFO kills it right after <c>start</c> reported
    /// success, and a FIFO without a reader blocks it forever. A non-blocking write-open fails with ENXIO exactly when
    /// no reader exists, so both are caught here, before anything is launched.
    /// </summary>
    private static void EnsureLogHasReader(Bundle bundle)
    {
        var type = Libc.FileTypeOf(bundle.LogFifoPath);
        if (type is null)
            throw new FailedPreconditionException(
                $"bundle {bundle.Namespace}/{bundle.Id} has no log FIFO at {bundle.LogFifoPath}; the shim daemon would die at once: failed precondition");
        if (type != Libc.S_IFIFO)
            throw new FailedPreconditionException(
                $"bundle {bundle.Namespace}/{bundle.Id}: {bundle.LogFifoPath} is not a FIFO: failed precondition");
        var fd = Libc.Open(bundle.LogFifoPath, Libc.O_WRONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            var errno = Libc.LastError;
            if (errno == Libc.ENXIO)
                throw new FailedPreconditionException(
                    $"bundle {bundle.Namespace}/{bundle.Id}: nobody reads the log FIFO (open a ShimLogPipe first); the shim would freeze: failed precondition");
            throw Libc.Error("open", bundle.LogFifoPath, errno);
        }
        Libc.Close(fd);
    }

    private static Process Launch(string binary, IReadOnlyList<string> arguments, Bundle bundle, ShimLaunchSettings settings)
    {
        var startInfo = new ProcessStartInfo(binary)
        {
            WorkingDirectory = bundle.Path, // the shim finds config.json, log and its state relative to cwd
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) startInfo.ArgumentList.Add(argument);
        startInfo.Environment["GOMAXPROCS"] = "2";
        startInfo.Environment["TTRPC_ADDRESS"] = settings.TtrpcAddress;
        try
        {
            return Process.Start(startInfo) ?? throw new UnavailableException($"could not start {binary}");
        }
        catch (Win32Exception e)
        {
            throw new UnavailableException($"could not start {binary}: {e.Message}", e);
        }
    }

    /// <summary>The shim reads stdin to EOF, so it must be closed even when there is nothing to send.</summary>
    private static async Task WriteAndCloseStdinAsync(Process process, byte[] data)
    {
        try
        {
            if (data.Length > 0)
                await process.StandardInput.BaseStream.WriteAsync(data).ConfigureAwait(false);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The process exited without reading (EPIPE); its exit status and output tell why.
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            // The whole tree: `start` may already have spawned its daemon as a child.
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private static async Task<byte[]> ReadAllBytesAsync(Stream stream)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer).ConfigureAwait(false);
        return buffer.ToArray();
    }

    /// <summary>Two pipes merged in the order their chunks arrive.</summary>
    private sealed class CombinedOutput
    {
        private readonly MemoryStream _buffer = new();
        private readonly Lock _gate = new();

        public string Text
        {
            get
            {
                lock (_gate) return Encoding.UTF8.GetString(_buffer.GetBuffer(), 0, (int)_buffer.Length);
            }
        }

        public async Task CopyAsync(Stream source)
        {
            var chunk = new byte[4096];
            int read;
            while ((read = await source.ReadAsync(chunk).ConfigureAwait(false)) > 0)
            {
                lock (_gate) _buffer.Write(chunk, 0, read);
            }
        }
    }
}
