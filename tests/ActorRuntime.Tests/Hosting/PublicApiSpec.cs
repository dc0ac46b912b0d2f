using System.Reflection;
using ActorRuntime.Hosting;
using Google.Protobuf;

namespace ActorRuntime.Tests.Hosting;

/// <summary>The runtime's public API speaks our own records; protobuf messages stay behind the shim connection.</summary>
public sealed class PublicApiSpec
{
    private const BindingFlags Visible = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    [Fact]
    public void No_public_member_of_the_runtime_takes_or_returns_a_protobuf_type()
    {
        var leaks = typeof(ContainerRuntime).Assembly.GetExportedTypes()
            .SelectMany(type => Signatures(type).Where(s => IsProtobuf(s.Type)).Select(s => $"{type.FullName}.{s.Member}: {s.Type}"))
            .Distinct()
            .ToList();
        Assert.True(leaks.Count == 0, "protobuf types in the public API:\n" + string.Join("\n", leaks));
    }

    [Fact]
    public void The_check_sees_a_protobuf_type_where_one_is_exposed() =>
        Assert.Contains(Signatures(typeof(Exposes)), s => IsProtobuf(s.Type));

    private static IEnumerable<(string Member, Type Type)> Signatures(Type type)
    {
        if (type.BaseType is { } baseType) yield return ("(base)", baseType);
        foreach (var i in type.GetInterfaces()) yield return ("(interface)", i);
        foreach (var m in type.GetMethods(Visible).Where(m => !m.IsSpecialName || m.Name.StartsWith("get_") || m.Name.StartsWith("set_")))
        {
            yield return (m.Name, m.ReturnType);
            foreach (var p in m.GetParameters()) yield return ($"{m.Name}({p.Name})", p.ParameterType);
        }
        foreach (var c in type.GetConstructors(Visible))
            foreach (var p in c.GetParameters()) yield return ($".ctor({p.Name})", p.ParameterType);
        foreach (var f in type.GetFields(Visible)) yield return (f.Name, f.FieldType);
    }

    private static bool IsProtobuf(Type type)
    {
        if (type.HasElementType) return IsProtobuf(type.GetElementType()!);
        if (type.IsGenericType && type.GetGenericArguments().Any(IsProtobuf)) return true;
        return typeof(IMessage).IsAssignableFrom(type) || type.Namespace?.StartsWith("Google.Protobuf", StringComparison.Ordinal) == true;
    }

    public sealed class Exposes
    {
        public Task<ActorRuntime.Protocol.Shim.DeleteResponse> Leak() => Task.FromResult(new ActorRuntime.Protocol.Shim.DeleteResponse());
    }
}
