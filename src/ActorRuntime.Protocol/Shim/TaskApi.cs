namespace ActorRuntime.Protocol.Shim;

/// <summary>Names under which ttrpc addresses the shim Task API and the events service.</summary>
public static class TaskApi
{
    public const string Service = "containerd.task.v2.Task";

    public static class Methods
    {
        public const string State = nameof(State);
        public const string Create = nameof(Create);
        public const string Start = nameof(Start);
        public const string Delete = nameof(Delete);
        public const string Pids = nameof(Pids);
        public const string Pause = nameof(Pause);
        public const string Resume = nameof(Resume);
        public const string Checkpoint = nameof(Checkpoint);
        public const string Kill = nameof(Kill);
        public const string Exec = nameof(Exec);
        public const string ResizePty = nameof(ResizePty);
        public const string CloseIO = nameof(CloseIO);
        public const string Update = nameof(Update);
        public const string Wait = nameof(Wait);
        public const string Stats = nameof(Stats);
        public const string Connect = nameof(Connect);
        public const string Shutdown = nameof(Shutdown);
    }
}

public static class EventsApi
{
    public const string Service = "containerd.services.events.ttrpc.v1.Events";
    public const string Forward = nameof(Forward);
    /// <summary>Metadata key carrying the namespace on every Forward the shim sends.</summary>
    public const string NamespaceMetadataKey = "containerd-namespace-ttrpc";
}
