using System.Text.Json;
using ActorRuntime.Cli;
using ActorRuntime.Cli.Commands;
using ActorRuntime.Protocol.Ttrpc;

namespace ActorRuntime.Tests.Cli;

public sealed class ArctlArgumentsSpec
{
    private const string Busybox = "/var/lib/actorruntime/images/busybox";

    private static System.CommandLine.ParseResult Parse(params string[] args)
    {
        var parse = ArctlCommand.Create().Parse(args);
        Assert.Empty(parse.Errors);
        return parse;
    }

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement;

    private static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    private static RunPlan Plan(params string[] args) =>
        ProcessSpecs.Plan("ns1", RunCommand.Arguments(Parse(args)), Busybox, _ => throw new FileNotFoundException());

    [Fact]
    public void Run_flags_become_the_spec_process_and_the_container_labels()
    {
        var plan = Plan("run", "-it", "--rm", "-e", "A=1", "--env", "PATH=/bin", "-w", "/tmp", "-u", "1000:2000",
            "-l", "team=x", "c1", "sh", "-c", "exit 42");

        var process = Json(plan.Container.SpecJson).GetProperty("process");
        Assert.Equal(["sh", "-c", "exit 42"], Strings(process.GetProperty("args")));
        Assert.True(process.GetProperty("terminal").GetBoolean());
        Assert.Equal(["TERM=xterm", "A=1", "PATH=/bin"], Strings(process.GetProperty("env")));
        Assert.Equal("/tmp", process.GetProperty("cwd").GetString());
        Assert.Equal(1000u, process.GetProperty("user").GetProperty("uid").GetUInt32());
        Assert.Equal(2000u, process.GetProperty("user").GetProperty("gid").GetUInt32());
        Assert.Equal("c1", plan.Container.Id);
        Assert.Equal(new Dictionary<string, string> { ["team"] = "x" }, plan.Container.Labels);
        Assert.Equal(Busybox, plan.RootfsDirectory);
    }

    [Fact]
    public void Options_after_the_container_id_belong_to_the_command()
    {
        var parse = Parse("run", "c1", "sh", "-c", "echo -t --rm");

        Assert.Equal(["sh", "-c", "echo -t --rm"], parse.GetValue(RunCommand.CommandLine)!);
        Assert.False(parse.GetValue(RunCommand.Tty));
        Assert.False(parse.GetValue(RunCommand.Remove));
    }

    [Fact]
    public void Run_without_a_command_starts_a_shell_without_a_terminal_variable()
    {
        var process = Json(Plan("run", "c1").Container.SpecJson).GetProperty("process");

        Assert.Equal(["sh"], Strings(process.GetProperty("args")));
        Assert.False(process.GetProperty("terminal").GetBoolean());
        Assert.DoesNotContain(Strings(process.GetProperty("env")), e => e.StartsWith("TERM="));
    }

    [Fact]
    public void A_bundle_gives_the_spec_and_its_root_path_the_rootfs()
    {
        var bundleSpec = """{"ociVersion":"1.0.2","process":{"args":["/app"],"env":["X=1"],"cwd":"/"},"root":{"path":"fs"}}""";
        var parse = Parse("run", "--bundle", "/b", "c1");
        var plan = ProcessSpecs.Plan("ns1", RunCommand.Arguments(parse), Busybox,
            path => path == "/b/config.json" ? bundleSpec : throw new FileNotFoundException(path));

        var spec = Json(plan.Container.SpecJson);
        Assert.Equal("/b/fs", plan.RootfsDirectory);
        Assert.Equal("rootfs", spec.GetProperty("root").GetProperty("path").GetString());
        Assert.Equal(["/app"], Strings(spec.GetProperty("process").GetProperty("args")));
        Assert.Equal(["X=1"], Strings(spec.GetProperty("process").GetProperty("env")));
    }

    [Fact]
    public void A_missing_bundle_is_an_invalid_argument_naming_it()
    {
        var e = Assert.Throws<InvalidArgumentException>(() => Plan("run", "--bundle", "/nowhere", "c1"));
        Assert.Contains("/nowhere", e.Message);
    }

    [Theory]
    [InlineData("--env", "NOEQUALS", "--env takes KEY=VALUE")]
    [InlineData("--label", "=v", "--label takes KEY=VALUE")]
    [InlineData("--user", "nobody", "--user takes a numeric UID[:GID]")]
    [InlineData("--user", "1:2:3", "--user takes a numeric UID[:GID]")]
    [InlineData("--cwd", "relative", "--cwd must be an absolute path")]
    [InlineData("--rootfs", "/r", "--rootfs or a --bundle, not both")]
    public void Bad_run_arguments_are_invalid_argument_with_the_flag_named(string flag, string value, string message)
    {
        string[] args = flag == "--rootfs" ? ["run", "--rootfs", value, "--bundle", "/b", "c1"] : ["run", flag, value, "c1"];

        var e = Assert.Throws<InvalidArgumentException>(() => Plan(args));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void An_exec_starts_from_the_containers_process_with_its_own_arguments()
    {
        var container = Plan("run", "-e", "A=1", "-u", "5", "-w", "/tmp", "c1", "sleep", "100").Container;
        var parse = Parse("exec", "-t", "-e", "B=2", "c1", "sh", "-c", "id");

        var process = Json(ProcessSpecs.ExecProcessJson(container.SpecJson, ExecCommand.Arguments(parse)));

        Assert.Equal(["sh", "-c", "id"], Strings(process.GetProperty("args")));
        Assert.True(process.GetProperty("terminal").GetBoolean());
        Assert.Contains("A=1", Strings(process.GetProperty("env")));
        Assert.Contains("B=2", Strings(process.GetProperty("env")));
        Assert.Contains("TERM=xterm", Strings(process.GetProperty("env")));
        Assert.Equal("/tmp", process.GetProperty("cwd").GetString());
        Assert.Equal(5u, process.GetProperty("user").GetProperty("uid").GetUInt32());
        Assert.True(process.TryGetProperty("capabilities", out _));
    }

    [Fact]
    public void The_address_comes_from_the_flag_then_the_environment_then_the_default()
    {
        var none = new Dictionary<string, string?>();
        var env = new Dictionary<string, string?> { [GlobalOptions.AddressVariable] = "/e.sock" };

        var byDefault = ArctlSettings.From(Parse("ps"), none.GetValueOrDefault);
        var fromEnvironment = ArctlSettings.From(Parse("ps"), env.GetValueOrDefault);
        var fromFlag = ArctlSettings.From(Parse("ps", "--address", "/f.sock"), env.GetValueOrDefault);

        Assert.Equal((GlobalOptions.DefaultAddress, false), (byDefault.Address, byDefault.AddressGiven));
        Assert.Equal(("/e.sock", true), (fromEnvironment.Address, fromEnvironment.AddressGiven));
        Assert.Equal(("/f.sock", true), (fromFlag.Address, fromFlag.AddressGiven));
    }

    [Fact]
    public void Global_options_are_taken_after_the_command_too()
    {
        var settings = ArctlSettings.From(Parse("ps", "-n", "team", "--json", "--embedded", "--root", "/r", "--state", "/s"),
            _ => null);

        Assert.Equal(("team", true, true, "/r", "/s"), (settings.Namespace, settings.Json, settings.Embedded, settings.Root, settings.State));
        Assert.Equal("/r/arctl/logs/team/c1.log", settings.LogPath("c1"));
        Assert.Equal("/r/images/busybox", settings.BusyboxRootfs);
    }

    [Fact]
    public void Arctls_fifos_sit_in_the_state_directory_under_a_name_the_runtime_never_takes_for_a_namespace()
    {
        var settings = ArctlSettings.From(Parse("ps", "--state", "/s"), _ => null);

        Assert.Equal("/s", Path.GetDirectoryName(settings.FifoDirectory));
        Assert.False(ActorRuntime.Identifiers.IsValid(Path.GetFileName(settings.FifoDirectory)));
    }

    [Theory]
    [InlineData("TERM", 15)]
    [InlineData("SIGKILL", 9)]
    [InlineData("sigint", 2)]
    [InlineData("10", 10)]
    public void Signals_are_taken_by_name_or_number(string signal, int number) =>
        Assert.Equal(number, Signals.Parse(signal));

    [Theory]
    [InlineData("SIGNOPE")]
    [InlineData("0")]
    [InlineData("65")]
    public void An_unknown_signal_is_an_invalid_argument(string signal) =>
        Assert.Throws<InvalidArgumentException>(() => Signals.Parse(signal));
}
