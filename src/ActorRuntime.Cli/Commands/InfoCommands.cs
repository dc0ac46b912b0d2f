using System.CommandLine;
using System.Reflection;
using ActorRuntime.Oci;

namespace ActorRuntime.Cli.Commands;

/// <summary>`arctl version`, `arctl namespaces`, `arctl rootfs DIR`.</summary>
internal static class InfoCommands
{
    internal sealed record VersionInfo(string Client, string Server, string Revision, string Runtime);

    public static Command Version()
    {
        var command = new Command("version", "show arctl's and the runtime's versions");
        CommandAction.Set(command, async (_, session, ct) =>
        {
            var server = await session.Client.VersionAsync(ct);
            var info = new VersionInfo(
                typeof(InfoCommands).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown",
                server.Version,
                server.Revision,
                session.IsEmbedded ? $"in-process on {session.Settings.Root}" : $"actorruntimed at {session.Settings.Address}");
            session.Output.Record(info,
                new Column<VersionInfo>("arctl", v => v.Client),
                new Column<VersionInfo>("Runtime", v => v.Runtime),
                new Column<VersionInfo>("Version", v => v.Server),
                new Column<VersionInfo>("Revision", v => v.Revision));
            return 0;
        });
        return command;
    }

    public static Command Namespaces()
    {
        var command = new Command("namespaces", "list namespaces");
        command.Aliases.Add("ns");
        CommandAction.Set(command, async (_, session, ct) =>
        {
            var names = (await session.Client.NamespacesAsync(ct)).Order(StringComparer.Ordinal).Select(n => new NamespaceRow(n)).ToList();
            session.Output.Table(names, new Column<NamespaceRow>("NAMESPACE", r => r.Name));
            return 0;
        });
        return command;
    }

    internal sealed record NamespaceRow(string Name);

    /// <summary>Needs no runtime: it only builds the directory, so a new user has a root filesystem without a registry.</summary>
    public static Command Rootfs()
    {
        var directory = new Argument<string>("dir") { Description = "where to build it" };
        var command = new Command("rootfs", "build a busybox root filesystem from the host's /bin/busybox (for run --rootfs)") { directory };
        command.SetAction(parse =>
        {
            try
            {
                Console.WriteLine(BusyboxImage.Ensure(parse.GetValue(directory)!));
                return 0;
            }
            catch (Exception e) when (CommandAction.Describe(e) is { } message)
            {
                Console.Error.WriteLine($"arctl: {message}");
                return CommandAction.Failed;
            }
        });
        return command;
    }
}
