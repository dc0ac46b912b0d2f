using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ActorRuntime.Store;
using Npgsql;
using Xunit;

namespace ActorRuntime.Testing;

/// <summary>
/// A throwaway PostgreSQL server from the Debian package: initdb into a temp dir as user postgres, a free loopback port,
/// <c>pg_ctl start -w</c>, one database. Stopped (<c>pg_ctl stop -m fast</c>) and deleted on dispose. Throws — the tests
/// fail, never skip — when the server cannot start. Shared: the unit tests use it for the EventBus journal, the
/// integration tests for actorruntime-host's restart cycle on PostgreSQL.
/// </summary>
public sealed class PostgreSqlServer : IAsyncLifetime
{
    private const string Bin = "/usr/lib/postgresql/15/bin";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private string _dir = "";
    private bool _started;

    public string DataDirectory => Path.Combine(_dir, "data");

    public int Port { get; private set; }

    public string ConnectionString => ConnectionStringFor("actorruntime");

    /// <summary>
    /// The database over the server's unix socket (in its directory) rather than TCP: a socket file is reached from any
    /// network namespace on this machine, so a node whose network is cut off still reaches the journal.
    /// </summary>
    public string UnixSocketConnectionString => $"Host={_dir};Port={Port};Username=postgres;Database=actorruntime;Pooling=false";

    public PersistenceSettings Settings => new(PersistenceProvider.PostgreSql, ConnectionString, _dir);

    /// <summary>Settings for a new, empty database on this server, for a test that must not see another test's rows.</summary>
    public async Task<PersistenceSettings> CreateDatabaseAsync()
    {
        var name = $"t{Guid.NewGuid():N}";
        await using var connection = new NpgsqlConnection(ConnectionStringFor("postgres"));
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await cmd.ExecuteNonQueryAsync();
        return new PersistenceSettings(PersistenceProvider.PostgreSql, ConnectionStringFor(name), _dir);
    }

    private string ConnectionStringFor(string database) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=false";

    public async Task InitializeAsync()
    {
        _dir = Directory.CreateTempSubdirectory("ar-pg-").FullName;
        await RunAsync("chown", "postgres:postgres", _dir);
        await AsPostgres($"{Bin}/initdb", "-D", DataDirectory, "-A", "trust", "-U", "postgres", "-N", "-E", "UTF8");
        Port = FreePort();
        await AsPostgres($"{Bin}/pg_ctl", "-D", DataDirectory, "-l", Path.Combine(_dir, "server.log"), "-w", "-t", "30",
            "-o", $"-c listen_addresses=127.0.0.1 -c port={Port} -c unix_socket_directories={_dir} -c fsync=off", "start");
        _started = true;
        await using var connection = new NpgsqlConnection(ConnectionStringFor("postgres"));
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand("CREATE DATABASE actorruntime", connection);
        await cmd.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            if (_started)
                await AsPostgres($"{Bin}/pg_ctl", "-D", DataDirectory, "-m", "fast", "-w", "-t", "30", "stop");
        }
        finally
        {
            if (_dir.Length > 0 && Directory.Exists(_dir))
                Directory.Delete(_dir, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Task AsPostgres(string program, params string[] args) =>
        RunAsync("runuser", ["-u", "postgres", "--", program, .. args]);

    private static async Task RunAsync(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {program}");
        // pg_ctl start leaves the server holding inherited pipes; read to EOF only for short-lived commands.
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish within {CommandTimeout}");
        }
        if (process.ExitCode != 0)
        {
            await Task.WhenAny(Task.WhenAll(stdout, stderr), Task.Delay(2000));
            throw new InvalidOperationException(
                $"{program} {string.Join(' ', args)} exited {process.ExitCode}: {Peek(stdout)} {Peek(stderr)}");
        }
    }

    private static string Peek(Task<string> output) => output.IsCompletedSuccessfully ? output.Result : "";
}
