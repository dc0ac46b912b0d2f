using ActorRuntime.Events;
using ActorRuntime.Protocol.Ttrpc;

namespace ActorRuntime.Tests.Events;

public sealed class EventFilterSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static TaskEvent Ev(string topic, string container = "c1", string exec = "", uint pid = 0, uint status = 0,
        string ns = "moby", DateTimeOffset? exitedAt = null) =>
        new(ns, topic, container, exec, pid, status, exitedAt, T0);

    [Fact]
    public void The_moby_example_parses_to_one_conjunction_of_two_selectors_and_matches()
    {
        var f = EventFilter.Parse("namespace==moby,topic~=|^/tasks/|");

        var conj = Assert.Single(f.Alternatives);
        Assert.Equal(2, conj.Selectors.Count);
        Assert.Equal(["namespace"], conj.Selectors[0].FieldPath);
        Assert.Equal(FilterOperator.Equal, conj.Selectors[0].Operator);
        Assert.Equal("moby", conj.Selectors[0].Value);
        Assert.Equal(FilterOperator.Matches, conj.Selectors[1].Operator);
        Assert.Equal("^/tasks/", conj.Selectors[1].Value);

        Assert.True(f.Matches(Ev(Topics.Exit)));
        Assert.False(f.Matches(Ev(Topics.Exit, ns: "default")));
        Assert.False(f.Matches(Ev("/containers/update")));
    }

    [Fact]
    public void A_bare_fieldpath_means_present_and_non_empty()
    {
        var f = EventFilter.Parse("event.exec_id");
        Assert.True(f.Matches(Ev(Topics.Exit, exec: "e1")));
        Assert.False(f.Matches(Ev(Topics.Exit)));

        var pid = EventFilter.Parse("event.pid");
        Assert.True(pid.Matches(Ev(Topics.Start, pid: 7)));
        Assert.False(pid.Matches(Ev(Topics.Start, pid: 0)));

        Assert.False(EventFilter.Parse("event.no_such_field").Matches(Ev(Topics.Exit)));
        Assert.False(EventFilter.Parse("labels.foo").Matches(Ev(Topics.Exit)));
    }

    [Fact]
    public void Not_equal_also_matches_an_absent_field()
    {
        var f = EventFilter.Parse("event.exec_id!=e1");
        Assert.True(f.Matches(Ev(Topics.Exit)));
        Assert.True(f.Matches(Ev(Topics.Exit, exec: "e2")));
        Assert.False(f.Matches(Ev(Topics.Exit, exec: "e1")));
    }

    [Theory]
    [InlineData("topic==/tasks/exit")]
    [InlineData("topic==\"/tasks/exit\"")]
    [InlineData("topic==|/tasks/exit|")]
    [InlineData("  topic ==  /tasks/exit  ")]
    [InlineData("\"topic\"==/tasks/exit")]
    [InlineData("topic==\"\\x2ftasks\\u002fexit\"")]
    [InlineData("topic==\"\\057tasks/exit\"")]
    public void Values_can_be_bare_double_quoted_or_pipe_quoted(string filter)
    {
        var f = EventFilter.Parse(filter);
        Assert.True(f.Matches(Ev(Topics.Exit)));
        Assert.False(f.Matches(Ev(Topics.Delete)));
    }

    [Fact]
    public void Double_quotes_unescape_go_style()
    {
        var s = Assert.Single(EventFilter.Parse("event.container_id==\"a\\\"b\\\\c\\td\"").Alternatives[0].Selectors);
        Assert.Equal("a\"b\\c\td", s.Value);
    }

    [Fact]
    public void Pipe_quotes_keep_regex_escapes_and_only_unescape_the_pipe()
    {
        var s = Assert.Single(EventFilter.Parse(@"event.container_id~=|^c\d+\|x$|").Alternatives[0].Selectors);
        Assert.Equal(@"^c\d+|x$", s.Value);
        var f = EventFilter.Parse(@"event.container_id~=|^web-\d+$|");
        Assert.True(f.Matches(Ev(Topics.Exit, container: "web-12")));
        Assert.False(f.Matches(Ev(Topics.Exit, container: "web-x")));
        Assert.Equal(@"a\\", Assert.Single(EventFilter.Parse(@"topic~=|a\\|").Alternatives[0].Selectors).Value);
    }

    [Fact]
    public void A_list_of_filters_is_OR_and_selectors_inside_one_are_AND()
    {
        var f = EventFilter.ParseAll(["topic==/tasks/exit,event.exec_id", "topic==/tasks/delete"]);
        Assert.True(f.Matches(Ev(Topics.Exit, exec: "e1")));
        Assert.False(f.Matches(Ev(Topics.Exit)));
        Assert.True(f.Matches(Ev(Topics.Delete)));
        Assert.False(f.Matches(Ev(Topics.Create)));
    }

    [Fact]
    public void No_filters_or_the_empty_filter_match_everything()
    {
        Assert.True(EventFilter.ParseAll([]).Matches(Ev(Topics.Oom)));
        Assert.True(EventFilter.ParseAll(null).IsAlways);
        Assert.True(EventFilter.Parse("").Matches(Ev(Topics.Oom)));
        Assert.True(EventFilter.Parse("   ").IsAlways);
        Assert.True(EventFilter.ParseAll(["topic==/nope", ""]).Matches(Ev(Topics.Oom)));
    }

    [Fact]
    public void Event_fields_follow_containerd_names()
    {
        var exit = Ev(Topics.Exit, container: "c9", pid: 42, status: 0, exitedAt: T0);
        Assert.True(EventFilter.Parse("event.container_id==c9,event.id==c9,event.pid==42,event.exit_status==0").Matches(exit));
        Assert.True(EventFilter.Parse("event.exited_at~=|^2026-01-02T03:04:05|").Matches(exit));
        Assert.True(EventFilter.Parse("event.id==e1").Matches(Ev(Topics.Exit, container: "c9", exec: "e1")));
        Assert.True(EventFilter.Parse("event.exit_status").Matches(exit));
        Assert.False(EventFilter.Parse("event.exit_status").Matches(Ev(Topics.Create, pid: 42)));
        Assert.True(EventFilter.Parse("event.exit_status!=0").Matches(Ev(Topics.Exit, status: 137)));
    }

    [Fact]
    public void ToString_is_canonical_and_parses_back_to_an_equal_filter()
    {
        var f = EventFilter.Parse(@" namespace == moby , topic~=|^/tasks/(exit\|delete)$| , ""odd field"".x ");
        var text = Assert.Single(f.ToFilterStrings());
        Assert.Equal("namespace==\"moby\",topic~=\"^/tasks/(exit|delete)$\",\"odd field\".x", text);
        Assert.Equal(f, EventFilter.Parse(text));
    }

    [Theory]
    [InlineData("namespace=moby", 9, "unsupported operator \"=\"")]
    [InlineData("namespace===moby", 9, "unsupported operator \"===\"")]
    [InlineData("namespace moby", 10, "expected an operator")]
    [InlineData("namespace==", 11, "expected value or quoted")]
    [InlineData("namespace==,topic", 11, "expected value or quoted")]
    [InlineData(",topic", 0, "expected field or quoted")]
    [InlineData("topic,", 6, "expected field or quoted")]
    [InlineData("event.", 6, "expected field or quoted")]
    [InlineData("topic==\"abc", 7, "quoted literal not terminated")]
    [InlineData("topic~=|abc", 7, "quoted literal not terminated")]
    [InlineData("topic==a b", 9, "unexpected input 'b'")]
    [InlineData("topic==\"\\q\"", 8, "illegal escape sequence \\q")]
    [InlineData("topic==\"\\xZZ\"", 8, "illegal numeric escape")]
    [InlineData("topic~=|[|", 7, "invalid regular expression")]
    [InlineData("topic~=\"(\"", 7, "invalid regular expression")]
    public void Parse_errors_are_invalid_argument_naming_position_and_problem(string filter, int position, string problem)
    {
        var ex = Assert.Throws<InvalidArgumentException>(() => EventFilter.Parse(filter));
        Assert.Equal(TtrpcCode.InvalidArgument, ex.Code);
        Assert.Contains($"position {position}", ex.Message);
        Assert.Contains(problem, ex.Message);
        Assert.EndsWith(": invalid argument", ex.Message);
    }

    [Fact]
    public void Parse_errors_mark_the_offending_character_and_name_the_filter_in_a_list()
    {
        var ex = Assert.Throws<InvalidArgumentException>(() => EventFilter.ParseAll(["topic==/tasks/exit", "namespace=moby"]));
        Assert.Contains("filter 1:", ex.Message);
        Assert.Contains("[namespace >|=|< moby]", ex.Message);
    }
}
