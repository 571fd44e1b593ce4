using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace AgentScope.Audit.PostgreSql.Tests;

/// <summary><c>agentscope serve --audit-postgres</c>, run as a process: the flag's effect, and what it prints when it cannot work.</summary>
[Collection("postgres")]
public sealed class ServeAuditPostgresTests(SharedPostgres postgres) : IDisposable
{
    private const string Password = "pw-CANARY-7f3a9c";
    private readonly string _home = Directory.CreateTempSubdirectory("agentscope-serve-pg-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [PostgresFact]
    public async Task Serve_with_audit_postgres_records_the_trail_in_postgresql_instead_of_the_homes_file_and_never_prints_the_password()
    {
        await using var tables = new AuditTables(postgres.Server);
        var port = FreePort();
        using var serve = ServeProcess.Start(_home,
            ["serve", "--urls", $"http://127.0.0.1:{port}", "--audit-postgres", postgres.Server.ConnectionString + ";Password=" + Password],
            new Dictionary<string, string>
            {
                // The Audit section's other PostgreSQL settings still apply (here from the environment); its Kind is JsonLines.
                ["AGENTSCOPE__Audit__Schema"] = tables.Schema,
                ["AGENTSCOPE__Logging__LogLevel__Default"] = "Trace",
            });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await serve.WaitHealthyAsync(http);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/readyz")).StatusCode);

        var adminKey = serve.Stdout.Split('\n')[0];
        using var create = new HttpRequestMessage(HttpMethod.Post, "/v0/agents") { Content = JsonContent.Create(new { id = "alpha" }) };
        create.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        using var created = await http.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var agentKey = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["apiKey"]!.GetValue<string>();
        using var store = new HttpRequestMessage(HttpMethod.Post, "/v0/vault") { Content = JsonContent.Create(new { label = "stripe", value = "sk_1" }) };
        store.Headers.Authorization = new AuthenticationHeaderValue("Bearer", agentKey);
        Assert.Equal(HttpStatusCode.Created, (await http.SendAsync(store)).StatusCode);

        Assert.Equal(0, await serve.StopAsync());
        Assert.Equal(["init", "agent.create", "write"], await tables.Server.QueryAsync($"SELECT action FROM {tables.Table} WHERE action <> 'sweep' ORDER BY seq"));
        Assert.False(File.Exists(Path.Combine(_home, "audit", "audit.jsonl")) && File.ReadAllText(Path.Combine(_home, "audit", "audit.jsonl")).Contains("\"write\"", StringComparison.Ordinal));
        Assert.Contains("dbug: ", serve.Stderr, StringComparison.Ordinal); // the logs were verbose
        Assert.DoesNotContain(Password, serve.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_with_an_unreachable_audit_postgres_exits_5_with_one_line_naming_the_database_but_not_the_password()
    {
        var closed = FreePort();
        using var serve = ServeProcess.Start(_home,
            ["serve", "--urls", $"http://127.0.0.1:{FreePort()}", "--audit-postgres", $"Host=127.0.0.1;Port={closed};Username=agentscope;Database=audit;Password={Password};Timeout=5"]);

        Assert.Equal(5, await serve.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var line = Assert.Single(serve.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: cannot use the PostgreSQL audit sink (agentscope@127.0.0.1:{closed}/audit): ", line, StringComparison.Ordinal);
        Assert.Contains("Failed to connect", line, StringComparison.Ordinal);
        Assert.Equal("", serve.Stdout); // no admin key: the store was never opened for business
        Assert.DoesNotContain(Password, serve.All, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Port=abc;Password=" + Password)]
    [InlineData("Password " + Password + "=x")]
    [InlineData("Host=127.0.0.1;Password=" + Password + ";NoSuchKeyword=1")]
    public async Task Serve_with_a_malformed_audit_postgres_exits_2_with_one_line_and_no_password(string connectionString)
    {
        using var serve = ServeProcess.Start(_home, ["serve", "--urls", $"http://127.0.0.1:{FreePort()}", "--audit-postgres", connectionString]);

        Assert.Equal(2, await serve.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var line = Assert.Single(serve.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: --audit-postgres is not a valid PostgreSQL connection string: ", line, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_home, "agentscope.json"))); // refused before the home was touched
        Assert.DoesNotContain(Password, serve.All, StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
