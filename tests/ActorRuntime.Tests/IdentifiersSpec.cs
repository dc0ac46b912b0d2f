using ActorRuntime.Protocol.EventsService;
using ActorRuntime.Protocol.Shim;
using ActorRuntime.Protocol.Ttrpc;
using CsCheck;
using Google.Protobuf.WellKnownTypes;

namespace ActorRuntime.Tests;

public sealed class IdentifiersSpec
{
    [Theory]
    [InlineData("../x", "must match")]
    [InlineData("a..b", "must match")]
    [InlineData("-a", "must match")]
    [InlineData("a-", "must match")]
    [InlineData("a/b", "must match")]
    [InlineData("a b", "must match")]
    [InlineData("ä", "must match")]
    [InlineData("容器", "must match")]
    [InlineData(".hidden", "must match")]
    public void Rejects_malformed_identifiers_naming_the_rule(string id, string problem)
    {
        var error = Assert.Throws<InvalidArgumentException>(() => Identifiers.Validate(id, "id"));
        Assert.Contains(problem, error.Message);
        Assert.Contains($"\"{id}\"", error.Message);
        Assert.EndsWith("invalid argument", error.Message);
        Assert.Equal(TtrpcCode.InvalidArgument, error.Code);
        Assert.False(Identifiers.IsValid(id));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Rejects_empty_identifiers(string? id)
    {
        var error = Assert.Throws<InvalidArgumentException>(() => Identifiers.Validate(id, "namespace"));
        Assert.Contains("namespace must not be empty", error.Message);
    }

    [Fact]
    public void Rejects_identifiers_longer_than_76_characters()
    {
        var id = new string('a', 77);
        var error = Assert.Throws<InvalidArgumentException>(() => Identifiers.Validate(id));
        Assert.Contains("greater than maximum length (76 characters)", error.Message);
    }

    [Fact]
    public void A_trailing_newline_is_rejected_and_shown_escaped()
    {
        // .NET's $ matches before a final '\n'; the rule must not.
        var error = Assert.Throws<InvalidArgumentException>(() => Identifiers.Validate("c1\n", "container id"));
        Assert.Equal($"container id \"c1\\n\" must match {Identifiers.Rule}: invalid argument", error.Message);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("c1")]
    [InlineData("A.b_c-d")]
    [InlineData("default")]
    [InlineData("k8s.io")]
    [InlineData("0")]
    public void Accepts_valid_identifiers(string id)
    {
        Assert.Equal(id, Identifiers.Validate(id));
        Assert.True(Identifiers.IsValid(id));
    }

    [Fact]
    public void Accepts_exactly_76_characters()
    {
        var id = new string('z', 76);
        Assert.Equal(id, Identifiers.Validate(id));
    }

    [Fact]
    public void Generated_valid_identifiers_up_to_76_characters_pass_everywhere()
    {
        ValidIds.Sample(id =>
        {
            Assert.InRange(id.Length, 1, Identifiers.MaxLength);
            Assert.Null(Identifiers.Check(id, "container id"));
            Assert.Equal(id, Identifiers.Validate(id));
            Assert.True(Identifiers.IsValid(id));
            // The same rule guards what shims forward: the namespace and every topic component.
            EventsForwarding.ValidateEnvelope(Forwarded(ns: id, topic: "/tasks/" + id));
        }, iter: 2_000);
    }

    [Fact]
    public void Generated_hostile_identifiers_are_rejected_with_InvalidArgument_naming_the_problem()
    {
        HostileIds.Sample(hostile =>
        {
            var (kind, id, problem) = hostile;
            Assert.False(Identifiers.IsValid(id), kind);
            var error = Identifiers.Check(id, "container id");
            Assert.NotNull(error);
            Assert.Equal(TtrpcCode.InvalidArgument, error.Code);
            Assert.StartsWith("container id ", error.Message);
            Assert.Contains(problem, error.Message);
            Assert.EndsWith(": invalid argument", error.Message);
            // The id is quoted with control characters escaped: a NUL or newline cannot cut or forge a log line.
            Assert.DoesNotContain(error.Message, char.IsControl);
            Assert.Equal(error.Message, Assert.Throws<InvalidArgumentException>(() => Identifiers.Validate(id, "container id")).Message);
            var forwarded = Assert.Throws<InvalidArgumentException>(() => EventsForwarding.ValidateEnvelope(Forwarded(ns: id)));
            Assert.StartsWith("event envelope has invalid namespace: identifier ", forwarded.Message);
        }, iter: 5_000, print: h => $"{h.Kind}: {Identifiers.Check(h.Id)?.Message ?? "(accepted)"}");
    }

    // ---- generators ----

    private const string Alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private static readonly Gen<string> Run = Gen.Char[Alphanumerics].Array[1, 12].Select(chars => new string(chars));

    private static readonly Gen<char> Separator = Gen.Char["._-"];

    /// <summary>Runs of letters and digits joined by single separators, up to 76 characters, sometimes exactly 76.</summary>
    private static readonly Gen<string> ValidIds = Gen.OneOf<string>(
        Gen.Select(Run, Gen.Select(Separator, Run, (separator, run) => separator + run).Array[0, 8],
                (first, rest) => first + string.Concat(rest))
            .Where(id => id.Length <= Identifiers.MaxLength),
        Gen.Char[Alphanumerics].Array[Identifiers.MaxLength].Select(chars => new string(chars)));

    /// <summary>Valid ids short enough that every mutation below stays within 76 characters.</summary>
    private static readonly Gen<string> ShortIds = ValidIds.Where(id => id.Length is >= 2 and <= 60);

    private static readonly Gen<char> NonAscii = Gen.OneOf<char>(
        Gen.Char['\u0080', '\uffff'],
        // Look-alikes of allowed characters: Kelvin sign K, dotted İ, fullwidth and Arabic-Indic digits, NBSP.
        Gen.Char["\u212A\u0130\uFF10\u0661\u00A0é容"]);

    private const string MustMatch = "must match " + Identifiers.Rule;

    private static readonly Gen<(string Kind, string Id, string Problem)> HostileIds = Gen.OneOf<(string Kind, string Id, string Problem)>(
        Gen.Const(("empty", "", "must not be empty")),
        Gen.Char[Alphanumerics].Array[Identifiers.MaxLength + 1, 300]
            .Select(chars => ("77 characters or more", new string(chars), "greater than maximum length (76 characters)")),
        Inserted("parent reference", Gen.OneOf("../", "/..", "..")),
        Inserted("slash", Gen.Const("/")),
        Inserted("NUL", Gen.Const("\0")),
        Inserted("non-ASCII", NonAscii.Select(c => c.ToString())),
        Inserted("double separator", Gen.Select(Separator, Separator, (a, b) => $"{a}{b}")),
        Inserted("whitespace or control character", Gen.Char["\t\r\v\f \u0001\u001b\u007f"].Select(c => c.ToString())),
        Gen.Select(ShortIds, Gen.Int[1, 59], (id, at) => ("newline inside", id.Insert(at % (id.Length - 1) + 1, "\n"), MustMatch)),
        ShortIds.Select(id => ("newline at the end", id + "\n", MustMatch)),
        Gen.Select(ShortIds, Separator, (id, separator) => ("leading separator", separator + id, MustMatch)),
        Gen.Select(ShortIds, Separator, (id, separator) => ("trailing separator", id + separator, MustMatch)));

    /// <summary>A valid id with <paramref name="bad"/> put in anywhere: at the start, inside or at the end.</summary>
    private static Gen<(string Kind, string Id, string Problem)> Inserted(string kind, Gen<string> bad) =>
        Gen.Select(ShortIds, bad, Gen.Int[0, 60], (id, text, at) => (kind, id.Insert(at % (id.Length + 1), text), MustMatch));

    private static Envelope Forwarded(string ns, string topic = "/tasks/exit") => new()
    {
        Namespace = ns,
        Topic = topic,
        Timestamp = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
    };
}
