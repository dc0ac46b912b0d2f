using ActorRuntime.Tasks;
using Akka.Actor;
using Turn = ActorRuntime.Tasks.ExecStartTurns.Turn;

namespace ActorRuntime.Tests.Runtime;

/// <summary><see cref="ExecStartTurns"/> as pure transitions: one exec Start of a task at the shim at a time, in order.</summary>
public sealed class ExecStartTurnsSpec : Akka.TestKit.Xunit2.TestKit
{
    private Turn NewTurn() => new(CreateTestProbe().Ref, CreateTestProbe().Ref);

    [Fact]
    public void The_first_request_is_granted_at_once_and_the_others_in_the_order_they_asked()
    {
        var (a, b, c) = (NewTurn(), NewTurn(), NewTurn());
        var (s1, grantedA) = ExecStartTurns.None.Request(a);
        var (s2, grantedB) = s1.Request(b);
        var (s3, grantedC) = s2.Request(c);
        Assert.Equal((a, null, null), (grantedA, grantedB, grantedC));

        var (s4, afterA) = s3.Release(a.Exec);
        var (s5, afterB) = s4.Release(b.Exec);
        var (s6, afterC) = s5.Release(c.Exec);
        Assert.Equal((b, c, null), (afterA, afterB, afterC));
        Assert.Equal(ExecStartTurns.None, s6);
    }

    [Fact]
    public void An_exec_that_stops_while_waiting_leaves_the_line_and_the_holder_keeps_its_turn()
    {
        var (a, b, c) = (NewTurn(), NewTurn(), NewTurn());
        var (s, _) = ExecStartTurns.None.Request(a);
        (s, _) = s.Request(b);
        (s, _) = s.Request(c);

        var (s1, granted) = s.Release(b.Exec);
        Assert.Null(granted);
        Assert.Equal(a, s1.Holder);
        Assert.Equal(c, s1.Release(a.Exec).Granted);
    }

    [Fact]
    public void A_release_by_an_exec_that_never_asked_changes_nothing()
    {
        var a = NewTurn();
        var (s, _) = ExecStartTurns.None.Request(a);
        var (s1, granted) = s.Release(ActorRefs.Nobody);
        Assert.Null(granted);
        Assert.Equal(a, s1.Holder);
        Assert.Empty(s1.Waiting);
    }
}
