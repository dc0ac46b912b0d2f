using System.Text;
using System.Text.Json;
using ActorRuntime.Protocol.Ttrpc;
using Google.Protobuf.WellKnownTypes;

namespace ActorRuntime.Daemon.Services;

/// <summary>OCI documents travel as an Any holding JSON (containerd's typeurl for the runtime-spec types).</summary>
internal static class OciJson
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The JSON object <paramref name="any"/> carries; InvalidArgument naming <paramref name="field"/> otherwise.</summary>
    public static string Of(Any? any, string typeUrl, string field)
    {
        if (any is null || (any.TypeUrl.Length == 0 && any.Value.IsEmpty))
            throw new InvalidArgumentException($"{field} must be set: invalid argument");
        if (any.TypeUrl != typeUrl)
            throw new InvalidArgumentException($"{field} has type \"{any.TypeUrl}\", expected \"{typeUrl}\": invalid argument");
        try
        {
            var json = StrictUtf8.GetString(any.Value.Span);
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidArgumentException($"{field} must be a JSON object, not {document.RootElement.ValueKind}: invalid argument");
            return json;
        }
        catch (Exception e) when (e is JsonException or DecoderFallbackException)
        {
            throw new InvalidArgumentException($"{field} is not valid JSON ({e.Message}): invalid argument");
        }
    }

    public static Any Pack(string typeUrl, string json) => ActorRuntime.Protocol.TypeUrls.PackJson(typeUrl, json);
}
