using System.Text.Json;
using System.Text.Json.Nodes;
using AgentScope.Cli;

namespace AgentScope.Audit.PostgreSql.Tests;

/// <summary>The <c>agentscope</c> commands (run in process) on a home whose agentscope.json selects the PostgreSQL sink.</summary>
[Collection("postgres")]
public sealed class CliPostgreSqlTests(SharedPostgres postgres) : IAsyncLifetime
{
    private readonly string _home = Directory.CreateTempSubdirectory("agentscope-cli-pg-").FullName;
    private AuditTables _tables = null!;

    public Task InitializeAsync()
    {
        if (PostgresServer.SkipReason is null)
        {
            _tables = new AuditTables(postgres.Server);
        }

        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        Directory.Delete(_home, recursive: true);
        if (_tables is not null)
        {
            await _tables.DisposeAsync();
        }
    }

    private async Task<(int Exit, string Out, string Err)> RunAsync(string args, string stdin = "")
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var io = new CliIO(new StringReader(stdin), stdout, stderr, stdinIsTerminal: false);
        var exit = await AgentScopeCli.RunAsync(["--home", _home, .. args.Split(' ', StringSplitOptions.RemoveEmptyEntries)], io);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary><c>init</c>, then switch the home's audit to PostgreSQL the way an operator would: by editing agentscope.json.</summary>
    private async Task InitOnPostgresAsync()
    {
        Assert.Equal(0, (await RunAsync("init")).Exit);
        var path = Path.Combine(_home, "agentscope.json");
        var config = JsonNode.Parse(await File.ReadAllTextAsync(path))!;
        config["Audit"] = new JsonObject
        {
            ["Kind"] = "PostgreSql",
            ["ConnectionString"] = _tables.Server.ConnectionString,
            ["Schema"] = _tables.Schema,
        };
        await File.WriteAllTextAsync(path, config.ToJsonString());
    }

    [PostgresFact]
    public async Task Audit_query_filters_pages_and_prints_json_from_postgresql()
    {
        await InitOnPostgresAsync();
        Assert.Equal(0, (await RunAsync("agent create alpha")).Exit);
        Assert.Equal(0, (await RunAsync("agent create beta")).Exit);
        Assert.Equal(0, (await RunAsync("secret put a --agent alpha", "v1")).Exit);
        Assert.Equal(0, (await RunAsync("secret put b --agent alpha", "v2")).Exit);
        Assert.Equal(0, (await RunAsync("secret get a --agent alpha")).Exit);
        Assert.Equal(3, (await RunAsync("secret get nope --agent beta")).Exit);

        var writes = await RunAsync("audit query --agent alpha --action write --json");
        Assert.Equal(0, writes.Exit);
        var lines = writes.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(["a", "b"], lines.Select(l => (string?)l["label"]));
        Assert.All(lines, l => Assert.Matches("^[0-9a-f]{64}$", (string?)l["fingerprint"]));

        var notFound = await RunAsync("audit query --outcome not_found --label nope --json");
        var miss = JsonNode.Parse(notFound.Out.Trim())!;
        Assert.Equal(("beta", "read"), ((string?)miss["agentId"], (string?)miss["action"]));

        var page1 = await RunAsync("audit query --limit 2 --json");
        Assert.Contains("--after 2", page1.Err, StringComparison.Ordinal);
        var page2 = await RunAsync("audit query --limit 2 --after 2 --json");
        Assert.Equal([3L, 4L], page2.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => (long)JsonNode.Parse(l)!["seq"]!));

        var window = await RunAsync("audit query --since 1h --until 2099-01-01T00:00:00Z");
        Assert.Equal(0, window.Exit);
        Assert.Equal(6, window.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Empty((await RunAsync("audit query --until 2000-01-01")).Out);
        Assert.Equal(2, (await RunAsync("audit query --since yesterday")).Exit);
    }

    [PostgresFact]
    public async Task Audit_verify_passes_on_an_untouched_table_and_exits_6_after_an_update_in_sql()
    {
        await InitOnPostgresAsync();
        Assert.Equal(0, (await RunAsync("agent create alpha")).Exit);
        Assert.Equal(0, (await RunAsync("secret put a --agent alpha", "v1")).Exit);

        var ok = await RunAsync("audit verify");
        Assert.Equal(0, ok.Exit);
        Assert.Contains("intact: 2 events", ok.Out, StringComparison.Ordinal);

        await _tables.TamperAsync($"UPDATE {_tables.Table} SET label = 'b' WHERE action = 'write'");
        var broken = await RunAsync("audit verify");
        Assert.Equal(6, broken.Exit);
        Assert.Contains("edited", broken.Err, StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task A_postgresql_audit_without_a_connection_string_is_a_clear_configuration_error()
    {
        Assert.Equal(0, (await RunAsync("init")).Exit);
        var path = Path.Combine(_home, "agentscope.json");
        var config = JsonNode.Parse(await File.ReadAllTextAsync(path))!;
        config["Audit"] = new JsonObject { ["Kind"] = "PostgreSql" };
        await File.WriteAllTextAsync(path, config.ToJsonString());

        var result = await RunAsync("audit verify");
        Assert.Equal(2, result.Exit);
        Assert.Contains("ConnectionString is required", result.Err, StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task With_the_database_down_cli_operations_are_refused_with_exit_5()
    {
        await InitOnPostgresAsync();
        var path = Path.Combine(_home, "agentscope.json");
        var config = JsonNode.Parse(await File.ReadAllTextAsync(path))!;
        config["Audit"]!["ConnectionString"] = $"Host=127.0.0.1;Port={new PostgresServerPort().Port};Username=postgres;Timeout=2";
        await File.WriteAllTextAsync(path, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

        var create = await RunAsync("agent create alpha");
        Assert.Equal(5, create.Exit);
        Assert.Contains("audit", create.Err, StringComparison.Ordinal);
        Assert.Equal(5, (await RunAsync("audit query")).Exit);
    }
}
