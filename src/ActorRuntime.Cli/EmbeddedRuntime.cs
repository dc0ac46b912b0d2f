using ActorRuntime.Client;
using ActorRuntime.Client.Embedded;
using ActorRuntime.Configuration;
using ActorRuntime.Hosting;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ActorRuntime.Cli;

/// <summary>
/// An ActorRuntime hosted inside arctl itself (--embedded, or no daemon at the default address): the same
/// Akka.Hosting set-up a .NET host uses. Logs go to stderr so stdout carries only the container's output or --json.
/// </summary>
internal sealed class EmbeddedRuntime : IAsyncDisposable
{
    private readonly IHost _host;

    private EmbeddedRuntime(IHost host, ContainerRuntime runtime)
    {
        _host = host;
        Runtime = runtime;
    }

    public ContainerRuntime Runtime { get; }

    public static async Task<EmbeddedRuntime> StartAsync(ActorRuntimeOptions options, CancellationToken ct)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddAkka("arctl", (akka, _) =>
        {
            akka.WithHostLogging(LogLevel.Warning);
            akka.WithActorRuntime(options);
        });
        builder.Services.AddContainerRuntime();
        var host = builder.Build();
        await host.StartAsync(ct);
        var runtime = host.Services.GetRequiredService<ContainerRuntime>();
        await runtime.AwaitLoadedAsync(ct);
        return new EmbeddedRuntime(host, runtime);
    }

    /// <summary>The in-process client over this runtime, its FIFOs under arctl's own directory as the remote client's are.</summary>
    public IContainerClient Client(ArctlSettings settings) =>
        Runtime.AsClient(settings.FifoDirectory).InNamespace(settings.Namespace);

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
