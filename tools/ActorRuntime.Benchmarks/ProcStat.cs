using System.Globalization;

namespace ActorRuntime.Benchmarks;

/// <summary>What /proc says about a process: CPU time of all its threads, resident memory, thread count.</summary>
internal readonly record struct ProcStat(double CpuMs, double RssMb, int Threads)
{
    // USER_HZ is 100 on every Linux we run on; /proc/<pid>/stat counts utime and stime in it.
    private const double MsPerTick = 10;

    public static ProcStat Of(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // Fields after the command name (which may hold spaces) start at state, field 3; utime is 14, stime 15.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        double rssKb = 0;
        var threads = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rssKb = double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            else if (line.StartsWith("Threads:", StringComparison.Ordinal)) threads = int.Parse(line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1].Trim(), CultureInfo.InvariantCulture);
        }
        return new ProcStat(ticks * MsPerTick, rssKb / 1024, threads);
    }

    /// <summary>Resident memory of these processes together, in MB (one that has gone counts 0).</summary>
    public static double RssMbOf(IEnumerable<int> pids) => pids.Sum(p =>
    {
        try { return Of(p).RssMb; } catch (IOException) { return 0; }
    });

    /// <summary>CPU milliseconds per second the process spent over <paramref name="window"/>.</summary>
    public static async Task<double> CpuMsPerSecondAsync(int pid, TimeSpan window)
    {
        var before = Of(pid).CpuMs;
        await Task.Delay(window);
        return (Of(pid).CpuMs - before) / window.TotalSeconds;
    }
}

/// <summary>The whole machine's busy CPU time (/proc/stat's first line: all but idle and iowait), in ticks.</summary>
internal readonly record struct MachineBusy(long BusyTicks)
{
    public static MachineBusy Read()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // cpu user nice system idle iowait irq softirq steal ...
        long F(int i) => long.Parse(fields[i], CultureInfo.InvariantCulture);
        return new MachineBusy(F(1) + F(2) + F(3) + F(6) + F(7) + F(8));
    }

    /// <summary>Busy share of every core over <paramref name="elapsed"/> since <paramref name="before"/>, in percent.</summary>
    public double PercentSince(MachineBusy before, TimeSpan elapsed) =>
        (BusyTicks - before.BusyTicks) * 10.0 / (elapsed.TotalMilliseconds * Environment.ProcessorCount) * 100;
}
