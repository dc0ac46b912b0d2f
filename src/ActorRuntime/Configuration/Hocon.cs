using System.Text.Encodings.Web;
using System.Text.Json;

namespace ActorRuntime.Configuration;

/// <summary>The one way the runtime renders a string into HOCON text (option overrides, plugin settings, type names).</summary>
internal static class Hocon
{
    // Relaxed: escapes what JSON requires (quote, backslash, control characters) and leaves other text readable; the
    // "unsafe" is about embedding in HTML, which this never is.
    private static readonly JsonSerializerOptions JsonString = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// A HOCON quoted string. HOCON's quoted strings are JSON strings, so the JSON writer quotes it: a path, type name or
    /// connection string comes back from the parser exactly as given (a raw newline would end the value, a quote the
    /// string). Akka's parser still trims leading and trailing whitespace, quoted or not.
    /// </summary>
    public static string Quote(string value) => JsonSerializer.Serialize(value, JsonString);
}
