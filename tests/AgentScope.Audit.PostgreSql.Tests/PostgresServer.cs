using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace AgentScope.Audit.PostgreSql.Tests;

/// <summary>
/// A real, throwaway PostgreSQL server: <c>initdb</c> into a short temporary directory, started with <c>pg_ctl</c> on a
/// free loopback port (and a Unix socket in the same directory), stopped and deleted on dispose. As root it runs as the
/// unprivileged <c>postgres</c> user (through <c>runuser</c>), since PostgreSQL refuses to run as root; otherwise as the
/// current user. About a second from nothing to accepting connections. Shared with the benchmarks (linked there), so it
/// depends on nothing but Npgsql.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private const string ServiceUser = "postgres";

    private readonly string _dir;
    private readonly bool _durable;
    private bool _running;

    private PostgresServer(string dir, int port, bool durable)
    {
        _dir = dir;
        Port = port;
        _durable = durable;
    }

    /// <summary>The directory holding initdb, pg_ctl and postgres, or null when PostgreSQL is not installed.</summary>
    public static string? BinDirectory { get; } = FindBinaries();

    /// <summary>Why PostgreSQL tests are skipped, or null when they can run.</summary>
    public static string? SkipReason => BinDirectory is null
        ? "PostgreSQL is not installed (no initdb and pg_ctl in /usr/lib/postgresql/*/bin or on PATH); install postgresql-15, as .ci/run does"
        : null;

    /// <summary>The TCP port, on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>A superuser connection string (trust authentication on loopback) to the <c>postgres</c> database.</summary>
    public string ConnectionString => ConnectionStringFor("postgres");

    /// <summary>A connection string for <paramref name="user"/> (any role may log in: authentication is trust).</summary>
    public string ConnectionStringFor(string user) =>
        $"Host=127.0.0.1;Port={Port};Username={user};Database=postgres;Timeout=5;Command Timeout=60;Include Error Detail=true";

    /// <summary>Creates and starts a server. <paramref name="durable"/> keeps fsync on (for benchmarks); tests turn it off.</summary>
    public static async Task<PostgresServer> StartAsync(bool durable = false)
    {
        var bin = BinDirectory ?? throw new InvalidOperationException(SkipReason);
        // Short, so the Unix socket path stays under the ~107-character limit.
        var dir = Path.Combine("/tmp", "aspg-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        if (IsRoot)
        {
            await RunAsync("chown", [$"{ServiceUser}:", dir]);
        }

        try
        {
            await RunAsync(Path.Combine(bin, "initdb"),
                ["-D", Path.Combine(dir, "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"], asService: true);
            for (var attempt = 1; ; attempt++)
            {
                var server = new PostgresServer(dir, FreePort(), durable);
                try
                {
                    await server.StartAgainAsync();
                    return server;
                }
                catch (InvalidOperationException) when (attempt < 3)
                {
                    // The free port was taken between probing and binding: try another.
                }
            }
        }
        catch
        {
            TryDelete(dir);
            throw;
        }
    }

    /// <summary>Starts the (stopped) server again on the same port and data.</summary>
    public async Task StartAgainAsync()
    {
        var options = $"-c listen_addresses=127.0.0.1 -p {Port} -k {_dir} -c max_connections=200"
            + (_durable ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        await RunAsync(Path.Combine(BinDirectory!, "pg_ctl"),
            ["-D", Path.Combine(_dir, "data"), "-l", Path.Combine(_dir, "server.log"), "-w", "-t", "60", "-o", options, "start"],
            asService: true, detaches: true);
        _running = true;
    }

    /// <summary>Stops the server (fast shutdown: connections are cut, nothing is lost).</summary>
    public async Task StopAsync()
    {
        await RunAsync(Path.Combine(BinDirectory!, "pg_ctl"), ["-D", Path.Combine(_dir, "data"), "-m", "fast", "-w", "-t", "60", "stop"], asService: true);
        _running = false;
    }

    /// <summary>Runs SQL as the superuser.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Runs SQL as the superuser and returns the first column of every row of every result, as text.</summary>
    public async Task<List<string?>> QueryAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string?>();
        do
        {
            while (await reader.ReadAsync())
            {
                rows.Add(reader.IsDBNull(0) ? null : Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        while (await reader.NextResultAsync());

        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        if (_running)
        {
            try
            {
                await RunAsync(Path.Combine(BinDirectory!, "pg_ctl"), ["-D", Path.Combine(_dir, "data"), "-m", "immediate", "-w", "stop"], asService: true);
            }
            catch (InvalidOperationException)
            {
                // Already gone; deleting the directory is all that is left.
            }
        }

        TryDelete(_dir);
    }

    private static bool IsRoot => Environment.IsPrivilegedProcess;

    private static string? FindBinaries()
    {
        var candidates = new List<string>();
        if (Directory.Exists("/usr/lib/postgresql"))
        {
            // Prefer 15 (what CI installs), then the newest.
            candidates.AddRange(Directory.GetDirectories("/usr/lib/postgresql")
                .OrderByDescending(d => Path.GetFileName(d) == "15")
                .ThenByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0)
                .Select(d => Path.Combine(d, "bin")));
        }

        candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries));
        return candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Runs a tool (as the <c>postgres</c> user when we are root). <paramref name="detaches"/>: the tool leaves a server
    /// running, which would hold our output pipes open, so its output goes to a file instead.
    /// </summary>
    private static async Task RunAsync(string file, IReadOnlyList<string> args, bool asService = false, bool detaches = false)
    {
        var psi = new ProcessStartInfo { UseShellExecute = false, RedirectStandardOutput = !detaches, RedirectStandardError = !detaches };
        if (asService && IsRoot)
        {
            psi.FileName = "runuser";
            foreach (var a in (string[])["-u", ServiceUser, "--", file])
            {
                psi.ArgumentList.Add(a);
            }
        }
        else
        {
            psi.FileName = file;
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        string output;
        int exitCode;
        if (detaches)
        {
            // Through a shell, so the server pg_ctl leaves behind inherits /dev/null and a file, not our pipes.
            var log = Path.Combine(Path.GetTempPath(), "aspg-pgctl-" + Guid.NewGuid().ToString("N")[..8] + ".out");
            var shell = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
            shell.ArgumentList.Add("-c");
            shell.ArgumentList.Add("exec \"$@\" </dev/null >\"$LOGFILE\" 2>&1");
            shell.ArgumentList.Add("sh");
            shell.ArgumentList.Add(psi.FileName);
            foreach (var a in psi.ArgumentList)
            {
                shell.ArgumentList.Add(a);
            }

            shell.Environment["LOGFILE"] = log;
            using var p = Process.Start(shell)!;
            await p.WaitForExitAsync();
            exitCode = p.ExitCode;
            output = File.Exists(log) ? await File.ReadAllTextAsync(log) : "";
            File.Delete(log);
        }
        else
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            exitCode = p.ExitCode;
            output = await stdout + await stderr;
        }

        if (exitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', args)} failed with exit code {exitCode}: {output}");
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
