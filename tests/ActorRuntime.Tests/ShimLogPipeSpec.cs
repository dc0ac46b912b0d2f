using System.Text;
using ActorRuntime.Shims;
using ActorRuntime.Testing;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.Tests;

public sealed class ShimLogPipeSpec : IDisposable
{
    private readonly string _state = Path.Combine(Path.GetTempPath(), "logpipespec-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_state)) Directory.Delete(_state, recursive: true);
    }

    [Fact]
    public async Task Forwards_each_line_with_the_logrus_level_including_lines_split_across_writes()
    {
        var bundle = Bundle.Create(_state, "ns1", "c1", "{}");
        var logger = new RecordingLogger();
        using var pipe = ShimLogPipe.Open(bundle, logger);

        // A writer like the shim daemon: blocking write-only open succeeds because the pipe holds a reader.
        await using (var writer = new FileStream(bundle.LogFifoPath, FileMode.Open, FileAccess.Write))
        {
            await writer.WriteAsync(Encoding.UTF8.GetBytes("time=\"t\" level=info msg=\"starting signal loop\"\ntime=\"t\" level=warn"));
            await writer.FlushAsync();
            await Task.Delay(50);
            await writer.WriteAsync(Encoding.UTF8.GetBytes("ing msg=\"second\"\nlevel=error msg=\"third\"\n"));
        }

        await logger.WaitForAsync(e => e.Message.Contains("third"), TimeSpan.FromSeconds(5));
        var entries = logger.Entries;
        Assert.Equal(3, entries.Count);
        Assert.Equal(LogLevel.Information, entries[0].Level);
        Assert.Contains("ns1/c1", entries[0].Message);
        Assert.Contains("starting signal loop", entries[0].Message);
        Assert.Equal(LogLevel.Warning, entries[1].Level);
        Assert.Contains("level=warning msg=\"second\"", entries[1].Message);
        Assert.Equal(LogLevel.Error, entries[2].Level);
    }

    [Fact]
    public async Task Dispose_stops_the_reader_promptly_and_the_fifo_can_be_reopened()
    {
        var bundle = Bundle.Create(_state, "ns1", "c1", "{}");
        var logger = new RecordingLogger();
        var first = ShimLogPipe.Open(bundle, logger);

        // Dispose returns once the shared poller let go of the fd; it waits on no poll timeout (FifoPollerSpec).
        first.Dispose();
        Assert.True(first.Completion.IsCompleted);
        Assert.DoesNotContain(bundle.LogFifoPath, OpenFilesOfThisProcess()); // the fd is closed

        // As after a restart of our process: a new reader on the same FIFO works.
        using var second = ShimLogPipe.Open(bundle, logger);
        using (var writer = new FileStream(bundle.LogFifoPath, FileMode.Open, FileAccess.Write))
            writer.Write("level=info msg=\"after reopen\"\n"u8);
        await logger.WaitForAsync(e => e.Message.Contains("after reopen"), TimeSpan.FromSeconds(5));
        Assert.DoesNotContain(logger.Entries, e => e.Level == LogLevel.Error);
    }

    [Fact]
    public void Refuses_a_missing_log_or_one_that_is_not_a_fifo()
    {
        var bundle = Bundle.Create(_state, "ns1", "c1", "{}");
        File.Delete(bundle.LogFifoPath);
        Assert.Throws<FileNotFoundException>(() => ShimLogPipe.Open(bundle, new RecordingLogger()));

        File.WriteAllText(bundle.LogFifoPath, "");
        var error = Assert.Throws<IOException>(() => ShimLogPipe.Open(bundle, new RecordingLogger()));
        Assert.Contains("not a FIFO", error.Message);
    }

    private static List<string> OpenFilesOfThisProcess() =>
        Directory.EnumerateFileSystemEntries("/proc/self/fd")
            .Select(fd => { try { return new FileInfo(fd).LinkTarget; } catch (IOException) { return null; } })
            .OfType<string>()
            .ToList();

    [Theory]
    [InlineData("time=\"x\" level=debug msg=\"m\"", LogLevel.Debug)]
    [InlineData("time=\"x\" level=info msg=\"m\"", LogLevel.Information)]
    [InlineData("time=\"x\" level=warning msg=\"m\"", LogLevel.Warning)]
    [InlineData("time=\"x\" level=error msg=\"m\"", LogLevel.Error)]
    [InlineData("time=\"x\" level=fatal msg=\"m\"", LogLevel.Critical)]
    [InlineData("panic: runtime error", LogLevel.Warning)]
    public void Keeps_the_logrus_level(string line, LogLevel expected) =>
        Assert.Equal(expected, ShimLogPipe.LevelOf(line));
}
