using System.Buffers.Binary;

namespace ActorRuntime.Protocol.Ttrpc;

public enum MessageType : byte
{
    Request = 1,
    Response = 2,
}

/// <summary>The 10-byte ttrpc frame header: length (body only), stream id, type, flags; big-endian.</summary>
public readonly record struct FrameHeader(uint Length, uint StreamId, byte Type, byte Flags)
{
    public const int Size = 10;

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, Length);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], StreamId);
        destination[8] = Type;
        destination[9] = Flags;
    }

    public static FrameHeader Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt32BigEndian(source),
        BinaryPrimitives.ReadUInt32BigEndian(source[4..]),
        source[8],
        source[9]);
}

/// <summary>A frame read off the wire. <see cref="Oversized"/> frames had their body discarded.</summary>
public sealed record Frame(FrameHeader Header, byte[] Body, bool Oversized);

/// <summary>Reads and writes ttrpc frames on a stream. Reads are single-threaded; writes are serialized.</summary>
public sealed class FrameChannel(Stream stream) : IAsyncDisposable
{
    public const int MaxMessageSize = 4 << 20;

    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly byte[] _headerBuffer = new byte[FrameHeader.Size];

    /// <summary>Next frame, or null on a clean end of stream between frames. A frame cut short throws EndOfStreamException.</summary>
    public async Task<Frame?> ReadAsync(CancellationToken ct)
    {
        var read = 0;
        while (read < FrameHeader.Size)
        {
            var n = await stream.ReadAsync(_headerBuffer.AsMemory(read), ct).ConfigureAwait(false);
            if (n == 0)
            {
                if (read == 0) return null;
                throw new EndOfStreamException($"ttrpc: truncated frame header ({read} of {FrameHeader.Size} bytes)");
            }
            read += n;
        }

        var header = FrameHeader.Read(_headerBuffer);
        if (header.Length > MaxMessageSize)
        {
            await DiscardAsync(header.Length, ct).ConfigureAwait(false);
            return new Frame(header, [], Oversized: true);
        }

        var body = header.Length == 0 ? [] : new byte[header.Length];
        try
        {
            await stream.ReadExactlyAsync(body, ct).ConfigureAwait(false);
        }
        catch (EndOfStreamException e)
        {
            throw new EndOfStreamException($"ttrpc: truncated frame body (expected {header.Length} bytes)", e);
        }
        return new Frame(header, body, Oversized: false);
    }

    public async Task WriteAsync(uint streamId, MessageType type, ReadOnlyMemory<byte> body, CancellationToken ct)
    {
        if (body.Length > MaxMessageSize)
            throw new TtrpcException(TtrpcCode.ResourceExhausted,
                $"message length {body.Length} exceed maximum message size of {MaxMessageSize}");
        var frame = new byte[FrameHeader.Size + body.Length];
        new FrameHeader((uint)body.Length, streamId, (byte)type, 0).Write(frame);
        body.Span.CopyTo(frame.AsSpan(FrameHeader.Size));
        await WriteRawAsync(frame, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes bytes as they are; tests use it to put malformed frames on the wire.
    /// <paramref name="ct"/> can abandon waiting for the write, but a write that has started always runs to completion
    /// in the background: cancelling it halfway would leave half a frame on the wire and desynchronize the peer.
    /// </summary>
    public async Task WriteRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        var write = WriteLockedAsync(bytes);
        // If the caller stops waiting, nobody else observes a late failure of the write.
        _ = write.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        await write.WaitAsync(ct).ConfigureAwait(false);
    }

    private async Task WriteLockedAsync(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            await stream.WriteAsync(bytes, CancellationToken.None).ConfigureAwait(false);
            await stream.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task DiscardAsync(uint length, CancellationToken ct)
    {
        var scratch = new byte[64 * 1024];
        var remaining = (long)length;
        while (remaining > 0)
        {
            var n = await stream.ReadAsync(scratch.AsMemory(0, (int)Math.Min(scratch.Length, remaining)), ct).ConfigureAwait(false);
            if (n == 0) throw new EndOfStreamException("ttrpc: truncated oversized frame");
            remaining -= n;
        }
    }

    /// <summary>
    /// Closes the stream. The write lock is deliberately not disposed: a peer that answers and hangs up at once (the
    /// shim after Shutdown) makes the read loop close the channel while a writer is still inside WriteRawAsync, and its
    /// Release on a disposed semaphore turned a delivered reply into "ttrpc: closed". SemaphoreSlim holds no kernel
    /// handle unless AvailableWaitHandle is used, so leaving it to the GC is safe.
    /// </summary>
    public ValueTask DisposeAsync() => stream.DisposeAsync();
}
