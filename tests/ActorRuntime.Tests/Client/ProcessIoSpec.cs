using System.Security.Cryptography;
using ActorRuntime.Client;

namespace ActorRuntime.Tests.Client;

/// <summary>Runs alone: it counts this process's open descriptors, which specs running beside it would change.</summary>
[CollectionDefinition(nameof(DescriptorCounting), DisableParallelization = true)]
public sealed class DescriptorCounting;

/// <summary>The client's stdio set against a stand-in shim that opens the FIFOs' other ends as the real one does.</summary>
[Collection(nameof(DescriptorCounting))]
public sealed class ProcessIoSpec : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "processio-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Stdout_carries_a_mebibyte_byte_for_byte_and_a_reader_that_does_not_read_holds_the_writer_back()
    {
        var payload = RandomNumberGenerator.GetBytes(1 << 20);
        await using var io = ProcessIo.Create(_root, "init", withStdin: false, terminal: false);

        // The "shim" connects after the client opened its end, as it does after Create.
        var writer = Task.Run(async () =>
        {
            await using var shimEnd = new FileStream(io.Paths.Stdout, FileMode.Open, FileAccess.Write);
            await shimEnd.WriteAsync(payload);
        });
        await Task.WhenAny(writer, Task.Delay(300));
        Assert.False(writer.IsCompleted, "a FIFO holds 64 KiB; the writer must wait for the reader");

        using var received = new MemoryStream();
        await io.Stdout!.CopyToAsync(received);
        await writer;
        Assert.Equal(payload, received.ToArray());
    }

    [Fact]
    public async Task Stdin_reaches_the_reader_and_disposing_it_ends_the_input_and_signals_the_close()
    {
        var payload = RandomNumberGenerator.GetBytes(256 * 1024);
        await using var io = ProcessIo.Create(_root, "exec1", withStdin: true, terminal: true);
        Assert.Equal("", io.Paths.Stderr);
        Assert.Null(io.Stderr);

        var reader = Task.Run(async () =>
        {
            await using var shimEnd = new FileStream(io.Paths.Stdin, FileMode.Open, FileAccess.Read);
            using var copy = new MemoryStream();
            await shimEnd.CopyToAsync(copy);
            return copy.ToArray();
        });
        await io.Stdin!.WriteAsync(payload);
        Assert.False(io.StdinClosed.IsCompleted);
        await io.Stdin.DisposeAsync();

        await io.StdinClosed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(payload, await reader.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_read_waiting_for_a_writer_that_never_comes_ends_when_cancelled_and_disposing_leaves_nothing()
    {
        var fdsBefore = OpenDescriptors();
        var io = ProcessIo.Create(Path.Combine(_root, "ns", "c1"), "init", withStdin: true, terminal: false);
        Assert.True(Directory.Exists(io.Directory));
        Assert.StartsWith(Path.Combine(_root, "ns", "c1"), io.Directory);

        using var cancel = new CancellationTokenSource();
        var read = io.Stdout!.ReadAsync(new byte[16], cancel.Token).AsTask();
        Assert.False(read.IsCompleted);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.WaitAsync(TimeSpan.FromSeconds(10)));

        var pending = io.Stderr!.ReadAsync(new byte[16]).AsTask();
        await io.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => pending.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.False(Directory.Exists(io.Directory));
        Assert.Equal(fdsBefore, OpenDescriptors());
    }

    [Fact]
    public async Task Reopened_fifos_of_a_running_process_read_what_it_writes_next()
    {
        var first = ProcessIo.Create(_root, "init", withStdin: false, terminal: false);
        await using var shimEnd = new FileStream(first.Paths.Stdout, FileMode.Open, FileAccess.Write);
        // The host goes away without removing the FIFOs (a restart); only its streams close.
        await first.Stdout!.DisposeAsync();
        await first.Stderr!.DisposeAsync();

        await using var again = ProcessIo.Reopen(first.Paths);
        Assert.Equal(first.Directory, again.Directory);
        await shimEnd.WriteAsync("after the restart"u8.ToArray());
        var buffer = new byte[64];
        var count = await again.Stdout!.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("after the restart", System.Text.Encoding.ASCII.GetString(buffer, 0, count));
    }

    private static int OpenDescriptors() => Directory.GetFiles("/proc/self/fd").Length;
}
