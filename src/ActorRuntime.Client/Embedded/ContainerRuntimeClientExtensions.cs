using ActorRuntime.Hosting;

namespace ActorRuntime.Client.Embedded;

public static class ContainerRuntimeClientExtensions
{
    /// <summary>
    /// The in-process client of a running runtime, acting in the runtime's namespace. Its FIFOs go under
    /// <paramref name="stateDirectory"/> (default &lt;runtime state directory&gt;/client).
    /// </summary>
    public static EmbeddedContainerClient AsClient(this ContainerRuntime runtime, string? stateDirectory = null) =>
        new(runtime, stateDirectory ?? Path.Combine(runtime.Settings.StateDirectory, "client"));
}
