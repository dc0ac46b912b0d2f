using ActorRuntime.Events;
using ActorRuntime.Protocol.Events;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ActorRuntime.Tests.Events;

/// <summary>containerd's event messages and our TaskEvent, both ways, as dockerd decodes them.</summary>
public sealed class EventMessagesSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Every_task_event_goes_out_under_its_bare_type_url_and_comes_back_the_same()
    {
        var events = new[]
        {
            new TaskEvent("moby", Topics.Create, "c1", "", 10, 0, null, T0),
            new TaskEvent("moby", Topics.Start, "c1", "", 10, 0, null, T0),
            new TaskEvent("moby", Topics.ExecAdded, "c1", "e1", 0, 0, null, T0),
            new TaskEvent("moby", Topics.ExecStarted, "c1", "e1", 11, 0, null, T0),
            new TaskEvent("moby", Topics.Exit, "c1", "e1", 11, 3, T0.AddSeconds(1), T0),
            new TaskEvent("moby", Topics.Exit, "c1", "", 10, 137, T0.AddSeconds(2), T0),
            new TaskEvent("moby", Topics.Delete, "c1", "", 10, 137, T0.AddSeconds(2), T0),
            new TaskEvent("moby", Topics.Oom, "c1", "", 0, 0, null, T0),
            new TaskEvent("moby", Topics.Paused, "c1", "", 0, 0, null, T0),
            new TaskEvent("moby", Topics.Resumed, "c1", "", 0, 0, null, T0),
            new TaskEvent("moby", Topics.Checkpointed, "c1", "", 0, 0, null, T0),
        };
        Assert.Equal(
        [
            "TaskCreate", "TaskStart", "TaskExecAdded", "TaskExecStarted", "TaskExit", "TaskExit", "TaskDelete", "TaskOOM", "TaskPaused",
            "TaskResumed", "TaskCheckpointed",
        ], events.Select(e => EventMessages.ToAny(e).TypeUrl["containerd.events.".Length..]));
        Assert.All(events, e => Assert.Equal(e, EventMessages.TaskEventOf(e.Namespace, e.Topic, e.Timestamp, EventMessages.ToAny(e))));
    }

    [Fact]
    public void TaskExit_id_is_the_exec_id_for_an_exec_and_the_container_id_for_the_init_and_a_zero_status_is_left_out()
    {
        var exec = TaskExit.Parser.ParseFrom(EventMessages.ToAny(new TaskEvent("moby", Topics.Exit, "c1", "e1", 11, 3, T0, T0)).Value);
        Assert.Equal(("c1", "e1", 3u), (exec.ContainerId, exec.Id, exec.ExitStatus));
        var init = EventMessages.ToAny(new TaskEvent("moby", Topics.Exit, "c1", "", 10, 0, T0, T0));
        Assert.Equal(("c1", "c1"), (TaskExit.Parser.ParseFrom(init.Value).ContainerId, TaskExit.Parser.ParseFrom(init.Value).Id));
        // Field 4 (exit_status, varint: tag 0x20) is not on the wire at all when it is 0, as from containerd.
        var fields = new List<int>();
        var input = new CodedInputStream(init.Value.ToByteArray());
        for (var tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
        {
            fields.Add(WireFormat.GetTagFieldNumber(tag));
            input.SkipLastField();
        }
        Assert.DoesNotContain(4, fields);
        Assert.Contains(5, fields);
    }

    [Fact]
    public void Any_other_type_or_a_task_type_under_another_topic_is_kept_whole()
    {
        var custom = new Any { TypeUrl = "example.com/Custom", Value = ByteString.CopyFromUtf8("opaque") };
        var kept = EventMessages.Of("ns", "/custom", T0, custom);
        Assert.Equal(new EventPayload("example.com/Custom", "opaque"u8.ToArray()), kept.Payload);
        Assert.Equal(custom, EventMessages.ToAny(kept));

        var exitElsewhere = new Any { TypeUrl = "containerd.events.TaskExit", Value = new TaskExit { ContainerId = "c1" }.ToByteString() };
        Assert.Null(EventMessages.TaskEventOf("ns", "/not/exit", T0, exitElsewhere));
        Assert.Equal(exitElsewhere, EventMessages.ToAny(EventMessages.Of("ns", "/not/exit", T0, exitElsewhere)));

        var created = EventMessages.Of("ns", "/containers/create", T0, new ContainerCreate { Id = "c1" }, "c1");
        Assert.Equal(("c1", "containerd.events.ContainerCreate"), (created.ContainerId, created.Payload!.TypeUrl));
    }
}
