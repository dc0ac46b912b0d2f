using System.Security.Cryptography;

namespace ActorRuntime.Testing;

/// <summary>
/// A network of its own for the three nodes of an isolated <see cref="ThreeNodeCluster"/>, all on this machine: a Linux
/// bridge in the root namespace and, per node, a network namespace joined to it by a veth pair. A node is cut off by
/// taking its link (the bridge's end of its veth) down, as a pulled cable, and reconnected by taking it up again. Every
/// interface and namespace is named after the cluster's hex, so what a run made, and only that, is removed and checked.
/// </summary>
public sealed class ClusterNetwork
{
    private readonly string _hex;
    private readonly int _subnet;
    private readonly int _nodes;
    private readonly Stack<string[]> _undo = new();

    private ClusterNetwork(string hex, int subnet, int nodes)
    {
        _hex = hex;
        _subnet = subnet;
        _nodes = nodes;
    }

    /// <summary>The bridge: "arb-" and the hex, within the 15 characters an interface name may have.</summary>
    public string Bridge => $"arb-{_hex}";

    /// <summary>Node <paramref name="n"/>'s network namespace, /run/netns/&lt;name&gt;.</summary>
    public string NamespaceOf(int n) => $"ar-{_hex}-n{n + 1}";

    /// <summary>The veth end on the bridge: the link <see cref="CutAsync"/> takes down.</summary>
    public string HostLinkOf(int n) => $"arh{n + 1}-{_hex}";

    /// <summary>The veth end inside node <paramref name="n"/>'s namespace.</summary>
    private string NodeLinkOf(int n) => $"arn{n + 1}-{_hex}";

    /// <summary>Node <paramref name="n"/>'s address, 10.213.&lt;subnet&gt;.11 and on.</summary>
    public string AddressOf(int n) => $"10.213.{_subnet}.{11 + n}";

    /// <summary>
    /// What runs a program in node <paramref name="n"/>'s namespace. nsenter rather than <c>ip netns exec</c>: the latter
    /// also unshares the mount namespace, which would hide the mounts of the node's shims from the host (and its clean-up).
    /// nsenter execs the program, which keeps nsenter's pid.
    /// </summary>
    public IReadOnlyList<string> Launcher(int n) => ["nsenter", $"--net=/run/netns/{NamespaceOf(n)}", "--"];

    /// <summary>
    /// Makes the bridge and <paramref name="nodes"/> namespaces linked to it, named after <paramref name="hex"/> (8 hex
    /// digits) in a 10.213.x.0/24 not in use on this machine. What was made before a failing step is removed again.
    /// </summary>
    public static async Task<ClusterNetwork> CreateAsync(string hex, int nodes)
    {
        var inUse = await IpAsync("-o", "-4", "addr", "show");
        var free = Enumerable.Range(1, 254).Where(s => !inUse.Contains($" 10.213.{s}.", StringComparison.Ordinal)).ToList();
        var network = new ClusterNetwork(hex, free[RandomNumberGenerator.GetInt32(free.Count)], nodes);
        try
        {
            await network.BuildAsync();
            return network;
        }
        catch
        {
            await network.RemoveAsync();
            throw;
        }
    }

    private async Task BuildAsync()
    {
        await IpAsync("link", "add", Bridge, "type", "bridge");
        _undo.Push(["link", "delete", Bridge]);
        await IpAsync("addr", "add", $"10.213.{_subnet}.1/24", "dev", Bridge);
        await IpAsync("link", "set", Bridge, "up");
        for (var n = 0; n < _nodes; n++)
        {
            await IpAsync("netns", "add", NamespaceOf(n));
            _undo.Push(["netns", "delete", NamespaceOf(n)]);
            await IpAsync("link", "add", HostLinkOf(n), "type", "veth", "peer", "name", NodeLinkOf(n));
            // Deleting either end deletes the pair; the host end is the one always in reach.
            _undo.Push(["link", "delete", HostLinkOf(n)]);
            await IpAsync("link", "set", HostLinkOf(n), "master", Bridge);
            await IpAsync("link", "set", HostLinkOf(n), "up");
            await IpAsync("link", "set", NodeLinkOf(n), "netns", NamespaceOf(n));
            await IpAsync("-n", NamespaceOf(n), "addr", "add", $"{AddressOf(n)}/24", "dev", NodeLinkOf(n));
            await IpAsync("-n", NamespaceOf(n), "link", "set", NodeLinkOf(n), "up");
            await IpAsync("-n", NamespaceOf(n), "link", "set", "lo", "up");
        }
    }

    /// <summary>Takes node <paramref name="n"/>'s link down: nothing passes between it and the other nodes.</summary>
    public Task CutAsync(int n) => IpAsync("link", "set", HostLinkOf(n), "down");

    /// <summary>Takes node <paramref name="n"/>'s link up again.</summary>
    public Task ReconnectAsync(int n) => IpAsync("link", "set", HostLinkOf(n), "up");

    /// <summary>
    /// Removes what was made, last first (veths, then namespaces, then the bridge); every step is tried, and the ones
    /// that failed are returned, each naming its command.
    /// </summary>
    public async Task<List<string>> RemoveAsync()
    {
        var failed = new List<string>();
        while (_undo.TryPop(out var args))
        {
            try
            {
                await IpAsync(args);
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                failed.Add(e.Message);
            }
        }
        return failed;
    }

    /// <summary>This network's namespaces and interfaces still on the machine (none, once removed).</summary>
    public async Task<List<string>> LeftoversAsync() =>
    [
        .. (await IpAsync("netns", "list")).Split('\n').Where(l => l.Contains(_hex, StringComparison.Ordinal)).Select(l => $"netns {l.Trim()}"),
        .. (await IpAsync("-o", "link", "show")).Split('\n').Where(l => l.Contains(_hex, StringComparison.Ordinal))
            .Select(l => $"link {l.Split(':', 3)[1].Trim()}"),
    ];

    /// <summary>Runs ip with <paramref name="args"/>; a failure throws, naming the command and what it wrote.</summary>
    private static async Task<string> IpAsync(params string[] args)
    {
        var result = await Shell.ExecAsync("ip", args, TimeSpan.FromSeconds(30));
        if (result.Code != 0)
            throw new InvalidOperationException($"ip {string.Join(' ', args)} failed ({result.Code}): {result.Stderr.Trim()}");
        return result.Stdout;
    }
}
