using System.CommandLine;
using ActorRuntime.Protocol.Ttrpc;

namespace ActorRuntime.Cli;

/// <summary>
/// How every command runs: settings from the global options, a session to the runtime, and errors as
/// "arctl: CODE: message" on stderr with status 1 (never on stdout, which carries only output or --json).
/// </summary>
internal static class CommandAction
{
    public const int Failed = 1;

    public static void Set(Command command, Func<ParseResult, Session, CancellationToken, Task<int>> action) =>
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                var settings = ArctlSettings.From(parse, Environment.GetEnvironmentVariable);
                await using var session = await Session.OpenAsync(settings, ct);
                return await action(parse, session, ct);
            }
            catch (Exception e) when (Describe(e) is { } message)
            {
                await Console.Error.WriteLineAsync($"arctl: {message}");
                return Failed;
            }
        });

    /// <summary>The message for an error arctl expects (the runtime's statuses, bad input, the file system); others crash loudly.</summary>
    public static string? Describe(Exception e) => e switch
    {
        TtrpcException t => $"{t.Code}: {t.Message}",
        OperationCanceledException => "Cancelled: interrupted",
        IOException or UnauthorizedAccessException => e.Message,
        _ => null,
    };

    /// <summary>Treats NotFound as "not there": null.</summary>
    public static async Task<T?> OrNullAsync<T>(Task<T> call) where T : class
    {
        try
        {
            return await call;
        }
        catch (NotFoundException)
        {
            return null;
        }
    }
}
