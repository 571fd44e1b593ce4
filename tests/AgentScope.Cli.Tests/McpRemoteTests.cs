using System.Collections.Concurrent;
using System.Text.Json;
using AgentScope.Testing;
using ModelContextProtocol.Client;
using static AgentScope.Cli.Tests.ServeProcessTests;

namespace AgentScope.Cli.Tests;

/// <summary>
/// A home set up with the CLI (the same agent, policy and secrets as <see cref="McpHomeFixture"/>), served by a real
/// <c>agentscope serve</c> process on a free port, and an echo upstream on 127.0.0.1. Each test starts
/// <c>agentscope mcp --server URL</c> with a home that does not exist, so everything goes through the server's REST API.
/// </summary>
public sealed class McpRemoteFixture : IAsyncLifetime
{
    public CliProcess Cli { get; } = new();
    public string Key { get; private set; } = "";
    public EchoUpstream Upstream { get; private set; } = null!;
    public string ServerUrl { get; private set; } = "";

    /// <summary>Where the MCP processes are told their home is: nowhere, so remote mode cannot fall back on a store.</summary>
    public string NoHome => Path.Combine(Cli.Home, "no-such-home");

    private ServeProcess? _serve;

    public async Task InitializeAsync()
    {
        Upstream = await EchoUpstream.StartAsync();
        Assert.Equal(0, (await Cli.RunAsync("init")).ExitCode);
        var policyFile = Path.Combine(Cli.Home, "policy.json");
        await File.WriteAllTextAsync(policyFile, McpHomeFixture.Policy);
        var created = await Cli.RunAsync($"agent create bot --policy-file {policyFile}");
        Assert.Equal(0, created.ExitCode);
        Key = created.Stdout.Trim();
        foreach (var (label, value) in new[] { ("stripe", McpHomeFixture.Canary), ("elsewhere", McpHomeFixture.Canary), ("public-config", "visible-value") })
        {
            Assert.Equal(0, (await Cli.RunAsync($"secret put {label}", stdin: value, apiKey: Key)).ExitCode);
        }

        Assert.Equal(0, (await Cli.RunAsync("secret put gh --totp", stdin: McpHomeFixture.Seed, apiKey: Key)).ExitCode);

        var port = FreePort();
        ServerUrl = $"http://127.0.0.1:{port}";
        _serve = new ServeProcess(Cli.Home, port);
        using var http = new HttpClient { BaseAddress = new Uri(ServerUrl) };
        await WaitHealthyAsync(http, _serve);
    }

    public async Task DisposeAsync()
    {
        if (_serve is not null)
        {
            await _serve.StopAsync();
            _serve.Dispose();
        }

        await Upstream.DisposeAsync();
        Cli.Dispose();
    }

    /// <summary>The serve process's stderr (its log).</summary>
    public string ServerLog => _serve?.Stderr ?? "";

    /// <summary>
    /// Starts <c>dotnet agentscope.dll mcp --server URL</c> (or, with <paramref name="viaEnvironment"/>, <c>mcp</c> with
    /// <c>AGENTSCOPE_URL</c>) as the agent and connects the SDK's MCP client to it.
    /// </summary>
    public async Task<McpSession> ConnectAsync(string? key = null, string? serverUrl = null, bool viaEnvironment = false)
    {
        var url = serverUrl ?? ServerUrl;
        var stderr = new ConcurrentQueue<string>();
        var env = new Dictionary<string, string?> { ["AGENTSCOPE_HOME"] = NoHome, ["AGENTSCOPE_API_KEY"] = key ?? Key, ["AGENTSCOPE_URL"] = null };
        List<string> args = [Path.Combine(AppContext.BaseDirectory, "agentscope.dll"), "mcp"];
        if (viaEnvironment)
        {
            env["AGENTSCOPE_URL"] = url;
        }
        else
        {
            args.AddRange(["--server", url]);
        }

        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "agentscope-remote",
            Command = "dotnet",
            Arguments = args,
            EnvironmentVariables = env,
            StandardErrorLines = stderr.Enqueue,
        });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return new McpSession(await McpClient.CreateAsync(transport, cancellationToken: cts.Token), stderr);
    }

    /// <summary>The audit trail the server wrote, read back with <c>agentscope audit tail --json</c> on the home.</summary>
    public async Task<List<JsonElement>> AuditAsync()
    {
        var tail = await Cli.RunAsync("audit tail -n 10000 --json");
        Assert.Equal(0, tail.ExitCode);
        return [.. tail.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
    }
}

public sealed class McpRemoteTests(McpRemoteFixture remote) : IClassFixture<McpRemoteFixture>
{
    private const string Canary = McpHomeFixture.Canary;

    private static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var p) ? p.GetString() : null;

    private static Dictionary<string, string> Auth(string label = "stripe") => new() { ["Authorization"] = "Bearer {{secret:" + label + "}}" };

    [Fact]
    public async Task Tools_list_shows_the_same_six_tools_as_in_process()
    {
        await using var s = await remote.ConnectAsync();
        var tools = (await s.Client.ListToolsAsync()).ToDictionary(t => t.Name);
        Assert.Equal(["vault.delete", "vault.get", "vault.list", "vault.request", "vault.store", "vault.totp"], tools.Keys.Order());
        Assert.Equal(["url"], tools["vault.request"].JsonSchema.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("vault.request", s.Client.ServerInstructions ?? "", StringComparison.Ordinal);
        Assert.False(Directory.Exists(remote.NoHome));
    }

    [Fact]
    public async Task Totp_and_list_work_and_list_never_shows_a_value()
    {
        await using var s = await remote.ConnectAsync();
        var code = await s.CallOkAsync("vault.totp", new { label = "gh" });
        Assert.Matches("^[0-9]{6}$", code.GetProperty("code").GetString());
        Assert.InRange(code.GetProperty("remaining").GetInt32(), 1, 30);

        var (isError, text) = await s.CallAsync("vault.list");
        Assert.False(isError, text);
        var labels = JsonDocument.Parse(text).RootElement.GetProperty("labels").EnumerateArray().ToDictionary(l => l.GetProperty("label").GetString()!);
        Assert.Contains("stripe", labels.Keys);
        Assert.Equal("totp", labels["gh"].GetProperty("kind").GetString());
        Assert.Empty(SecretTraces.Find(text, Canary));
    }

    [Fact]
    public async Task Get_is_refused_by_default_with_one_pointer_to_vault_request_and_allowed_where_a_rule_sets_reveal()
    {
        await using var s = await remote.ConnectAsync();
        var (isError, text) = await s.CallAsync("vault.get", new { label = "stripe", justification = "remote get check" });
        Assert.True(isError, text);
        Assert.StartsWith("access_denied:", text, StringComparison.Ordinal);
        Assert.Contains("reveal", text, StringComparison.Ordinal);
        Assert.Equal(1, text.Split("Use vault.request").Length - 1); // the server's hint, not repeated by the tool
        Assert.Empty(SecretTraces.Find(text, Canary));

        var entry = await s.CallOkAsync("vault.get", new { label = "public-config" });
        Assert.Equal("visible-value", entry.GetProperty("value").GetString());
        Assert.Equal("generic", entry.GetProperty("kind").GetString());

        var seed = await s.CallAsync("vault.get", new { label = "gh" });
        Assert.True(seed.IsError);
        Assert.DoesNotContain(McpHomeFixture.Seed, seed.Text, StringComparison.Ordinal);

        // The server applied the rule and audited the refusal, as a REST read.
        Assert.Contains(await remote.AuditAsync(), e => Str(e, "action") == "read" && Str(e, "label") == "stripe" && Str(e, "outcome") == "denied" &&
            Str(e, "justification") == "remote get check" && Str(e, "detail") == "rest");
    }

    [Fact]
    public async Task Request_is_injected_by_the_server_and_the_model_sees_no_trace_of_the_value()
    {
        await using var s = await remote.ConnectAsync();
        var before = remote.Upstream.Received.Count;
        var marker = Guid.NewGuid().ToString("N");
        var (isError, text) = await s.CallAsync("vault.request", new
        {
            method = "POST",
            url = remote.Upstream.Url($"/echo/{marker}/{{{{secret:stripe}}}}"),
            headers = new Dictionary<string, string> { ["Authorization"] = "Bearer {{secret:stripe}}", ["X-Otp"] = "{{totp:gh}}" },
            query = new Dictionary<string, string> { ["key"] = "{{secret:stripe}}" },
            body = new { key = "{{secret:stripe}}", note = "hello" },
            justification = "refund " + marker,
        });
        Assert.False(isError, text);

        var received = remote.Upstream.Received.Skip(before).Single();
        Assert.Equal("Bearer " + Canary, received.Headers["Authorization"]);
        Assert.Equal("application/json", received.Headers["Content-Type"]);
        Assert.Equal(Canary, JsonDocument.Parse(received.Body).RootElement.GetProperty("key").GetString());
        Assert.Equal($"/echo/{marker}/{Canary}", Uri.UnescapeDataString(received.Path));
        var code = received.Headers["X-Otp"];
        Assert.Matches("^[0-9]{6}$", code);

        Assert.Empty(SecretTraces.Find(text, Canary));
        Assert.Empty(SecretTraces.Find(text, code));
        using var result = JsonDocument.Parse(text);
        Assert.Equal(200, result.RootElement.GetProperty("status").GetInt32());
        using var echo = JsonDocument.Parse(result.RootElement.GetProperty("body").GetString()!);
        Assert.Equal("{\"key\":\"[redacted:stripe]\",\"note\":\"hello\"}", echo.RootElement.GetProperty("body").GetString());

        // Audited by the server, with the MCP call's request id and justification, never the value.
        var audit = await remote.AuditAsync();
        var mine = audit.Where(e => Str(e, "justification") == "refund " + marker).ToList();
        Assert.Contains(mine, e => Str(e, "action") == "request" && Str(e, "label") == "stripe" && Str(e, "detail") == "rest use for http://127.0.0.1");
        var done = Assert.Single(mine, e => Str(e, "label") == "stripe" && Str(e, "detail")!.EndsWith("-> 200", StringComparison.Ordinal));
        Assert.Single(mine, e => Str(e, "label") == "gh" && Str(e, "detail")!.EndsWith("-> 200", StringComparison.Ordinal));
        Assert.Equal($"rest POST http://127.0.0.1:{remote.Upstream.Port}/echo/{marker}/{{{{secret:stripe}}}} -> 200", Str(done, "detail"));
        Assert.StartsWith("mcp-", Str(done, "requestId"), StringComparison.Ordinal);
        Assert.Empty(SecretTraces.Find(string.Join("\n", audit.Select(e => e.GetRawText())), Canary));
        Assert.Empty(SecretTraces.Find(string.Join("\n", s.Stderr), Canary));
    }

    [Fact]
    public async Task Request_to_a_host_the_policy_does_not_allow_is_a_tool_error_and_the_upstream_sees_nothing()
    {
        await using var s = await remote.ConnectAsync();
        var before = remote.Upstream.Received.Count;
        var (isError, text) = await s.CallAsync("vault.request", new { url = remote.Upstream.Url("/echo"), headers = Auth("elsewhere") });
        Assert.True(isError);
        Assert.StartsWith("access_denied:", text, StringComparison.Ordinal);

        var placeholderHost = await s.CallAsync("vault.request", new { url = "https://{{secret:stripe}}.example.com/" });
        Assert.True(placeholderHost.IsError);
        Assert.StartsWith("invalid_input:", placeholderHost.Text, StringComparison.Ordinal);
        Assert.Equal(before, remote.Upstream.Received.Count);
    }

    [Fact]
    public async Task Store_and_delete_go_through_the_server()
    {
        await using var s = await remote.ConnectAsync(serverUrl: remote.ServerUrl, viaEnvironment: true); // AGENTSCOPE_URL instead of --server
        var stored = await s.CallOkAsync("vault.store", new { label = "remote-token", value = "tok-" + Canary, expiresAt = "2099-01-01T00:00:00Z" });
        Assert.True(stored.GetProperty("created").GetBoolean());
        Assert.Equal(2, (await s.CallOkAsync("vault.store", new { label = "remote-token", value = "tok2" })).GetProperty("version").GetInt64());

        var got = await remote.Cli.RunAsync("secret get remote-token", apiKey: remote.Key);
        Assert.Equal("tok2", got.Stdout.Trim());

        Assert.True((await s.CallOkAsync("vault.delete", new { label = "remote-token" })).GetProperty("deleted").GetBoolean());
        var again = await s.CallAsync("vault.delete", new { label = "remote-token" });
        Assert.True(again.IsError);
        Assert.StartsWith("not_found:", again.Text, StringComparison.Ordinal);

        var bad = await s.CallAsync("vault.get", new { label = "../bot/stripe" });
        Assert.True(bad.IsError);
        Assert.StartsWith("invalid_input:", bad.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_key_or_an_unreachable_server_is_a_clear_tool_error_and_never_shows_the_key()
    {
        await using (var wrong = await remote.ConnectAsync(key: remote.Key + "x"))
        {
            var (isError, text) = await wrong.CallAsync("vault.list");
            Assert.True(isError);
            Assert.StartsWith("unauthenticated:", text, StringComparison.Ordinal);
            Assert.DoesNotContain(remote.Key, text, StringComparison.Ordinal);
            Assert.DoesNotContain(remote.Key, string.Join("\n", wrong.Stderr), StringComparison.Ordinal);
        }

        await using var down = await remote.ConnectAsync(serverUrl: $"http://127.0.0.1:{FreePort()}");
        var unreachable = await down.CallAsync("vault.totp", new { label = "gh" });
        Assert.True(unreachable.IsError);
        Assert.StartsWith("backend_unavailable:", unreachable.Text, StringComparison.Ordinal);
        Assert.Contains("unreachable", unreachable.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_server_mode_does_not_start_without_a_key_or_with_a_url_that_is_not_http()
    {
        var env = new Dictionary<string, string> { ["AGENTSCOPE_HOME"] = remote.NoHome };
        var none = await remote.Cli.RunAsync($"mcp --server {remote.ServerUrl}", env: env);
        Assert.Equal(2, none.ExitCode);
        Assert.Empty(none.Stdout);
        Assert.Contains("AGENTSCOPE_API_KEY", none.Stderr, StringComparison.Ordinal);

        var ftp = await remote.Cli.RunAsync("mcp --server ftp://127.0.0.1:1", apiKey: remote.Key, env: env);
        Assert.Equal(2, ftp.ExitCode);
        Assert.Empty(ftp.Stdout);
        Assert.Contains("http(s) URL", ftp.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(remote.NoHome));
    }
}
