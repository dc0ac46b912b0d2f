using ActorRuntime.Client;
using ActorRuntime.Events;

namespace ActorRuntime.Tests.Client;

public sealed class EventMappingSpec
{
    private static readonly DateTimeOffset At = new(2026, 11, 28, 3, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(Topics.Create, ContainerEventKind.Create)]
    [InlineData(Topics.Start, ContainerEventKind.Start)]
    [InlineData(Topics.Oom, ContainerEventKind.Oom)]
    [InlineData(Topics.ExecAdded, ContainerEventKind.ExecAdded)]
    [InlineData(Topics.ExecStarted, ContainerEventKind.ExecStarted)]
    [InlineData(Topics.Paused, ContainerEventKind.Paused)]
    [InlineData(Topics.Resumed, ContainerEventKind.Resumed)]
    [InlineData(Topics.Delete, ContainerEventKind.Delete)]
    public void Every_task_topic_a_host_handles_maps_to_its_kind_with_the_offset(string topic, ContainerEventKind kind)
    {
        var e = new TaskEvent("default", topic, "c1", "", 42, 0, null, At, Offset: 17);

        Assert.Equal(new ContainerEvent(17, "default", kind, "c1", null, 42, 0, At), EventMapping.ToContainerEvent(e, "default"));
    }

    [Fact]
    public void An_exec_exit_carries_its_exec_id_status_and_exit_time()
    {
        var exited = At.AddSeconds(3);
        var e = new TaskEvent("default", Topics.Exit, "c1", "e1", 43, 42, exited, At, Offset: 18);

        Assert.Equal(new ContainerEvent(18, "default", ContainerEventKind.Exit, "c1", "e1", 43, 42, exited),
            EventMapping.ToContainerEvent(e, "default"));
    }

    [Fact]
    public void Another_namespace_and_a_checkpointed_event_are_not_the_hosts()
    {
        Assert.Null(EventMapping.ToContainerEvent(new TaskEvent("other", Topics.Start, "c1", "", 1, 0, null, At, 1), "default"));
        Assert.Null(EventMapping.ToContainerEvent(new TaskEvent("default", Topics.Checkpointed, "c1", "", 1, 0, null, At, 2), "default"));
    }
}
