using System.Text;
using System.Text.Json.Nodes;

namespace ActorRuntime.Host;

/// <summary>Writes whole JSON lines to stdout, one at a time, flushed, so responses and events never interleave.</summary>
internal sealed class LineWriter(Stream stdout)
{
    private readonly Lock _lock = new();
    private static readonly UTF8Encoding Utf8 = new(false);

    public void Write(JsonObject line)
    {
        var bytes = Utf8.GetBytes(line.ToJsonString() + "\n");
        lock (_lock)
        {
            try
            {
                stdout.Write(bytes);
                stdout.Flush();
            }
            catch (IOException)
            {
                // The driver went away; nothing left to tell.
            }
        }
    }
}
