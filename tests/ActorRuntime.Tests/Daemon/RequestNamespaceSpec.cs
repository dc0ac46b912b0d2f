using ActorRuntime.Daemon.Services;
using ActorRuntime.Protocol.Ttrpc;
using Grpc.Core;

namespace ActorRuntime.Tests.Daemon;

/// <summary>The one door for a call's namespace: the containerd-namespace header, checked as containerd checks it.</summary>
public sealed class RequestNamespaceSpec
{
    [Fact]
    public void The_header_names_the_namespace_and_its_first_value_counts()
    {
        Assert.Equal("moby", RequestNamespace.Of(new Metadata { { "containerd-namespace", "moby" } }));
        Assert.Equal("plugins.moby", RequestNamespace.Of(new Metadata
        {
            { "containerd-namespace", "plugins.moby" },
            { "containerd-namespace", "default" },
        }));
    }

    [Fact]
    public void No_header_or_an_empty_one_is_FailedPrecondition_namespace_is_required()
    {
        foreach (var headers in new[] { new Metadata(), new Metadata { { "containerd-namespace", "" } }, new Metadata { { "other", "x" } } })
        {
            var e = Assert.Throws<FailedPreconditionException>(() => RequestNamespace.Of(headers));
            Assert.Equal("namespace is required: failed precondition", e.Message);
        }
    }

    [Theory]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("../etc")]
    [InlineData("a..b")]
    [InlineData("-x")]
    public void A_name_that_breaks_the_identifier_rule_is_InvalidArgument_naming_it(string name)
    {
        var e = Assert.Throws<InvalidArgumentException>(() => RequestNamespace.Of(new Metadata { { "containerd-namespace", name } }));
        Assert.StartsWith($"namespace validation: namespace \"{name}\" must match", e.Message);
        Assert.EndsWith(": invalid argument", e.Message);
    }
}
