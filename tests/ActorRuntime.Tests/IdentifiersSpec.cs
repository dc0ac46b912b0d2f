using ActorRuntime.Protocol.Ttrpc;

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
}
