using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentScope.Testing;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace AgentScope.Cli.Tests;

/// <summary>
/// A home with one agent, its policy and secrets, set up with the CLI as a user would, and two echo upstreams on
/// 127.0.0.1. Each test starts its own <c>agentscope mcp</c> process and talks to it with the SDK's own MCP client.
/// </summary>
public sealed class McpHomeFixture : IAsyncLifetime
{
    // Characters every encoding treats differently: space, plus, slash, equals, quotes, angle brackets, backslash, percent.
    public const string Canary = "sk_live 9+/=\"q'<&>\\ab%41~mcp-Canary-7Zx";
    public const string Seed = "JBSWY3DPEHPK3PXP";

    public const string Policy = """
        {"rules": [
          {"labels": "*", "operations": ["read", "write", "delete", "list", "totp"]},
          {"labels": "stripe", "operations": ["use"], "allowedHosts": ["127.0.0.1"], "allowHttpLoopback": true},
          {"labels": "gh", "operations": ["use"], "allowedHosts": ["127.0.0.1"], "allowHttpLoopback": true},
          {"labels": "elsewhere", "operations": ["use"], "allowedHosts": ["api.example.com"]},
          {"labels": "public-*", "operations": ["read"], "reveal": true}
        ]}
        """;

    public CliProcess Cli { get; } = new();
    public string Key { get; private set; } = "";
    public EchoUpstream Upstream { get; private set; } = null!;
    public EchoUpstream Other { get; private set; } = null!;

    /// <summary>The limit set in the home's agentscope.json (section Injection), to check the setting is honoured.</summary>
    public const int MaxResponseBytes = 64 * 1024;

    public async Task InitializeAsync()
    {
        Upstream = await EchoUpstream.StartAsync();
        Other = await EchoUpstream.StartAsync();
        Assert.Equal(0, (await Cli.RunAsync("init")).ExitCode);
        var config = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Cli.Home, "agentscope.json")))!;
        config["Injection"] = new JsonObject { ["MaxResponseBytes"] = MaxResponseBytes };
        await File.WriteAllTextAsync(Path.Combine(Cli.Home, "agentscope.json"), config.ToJsonString());

        var policyFile = Path.Combine(Cli.Home, "policy.json");
        await File.WriteAllTextAsync(policyFile, Policy);
        var created = await Cli.RunAsync($"agent create bot --policy-file {policyFile}");
        Assert.Equal(0, created.ExitCode);
        Key = created.Stdout.Trim();
        foreach (var (label, value) in new[] { ("stripe", Canary), ("elsewhere", Canary), ("public-config", "visible-value") })
        {
            Assert.Equal(0, (await Cli.RunAsync($"secret put {label}", stdin: value, apiKey: Key)).ExitCode);
        }

        Assert.Equal(0, (await Cli.RunAsync("secret put gh --totp", stdin: Seed, apiKey: Key)).ExitCode);
    }

    public async Task DisposeAsync()
    {
        await Upstream.DisposeAsync();
        await Other.DisposeAsync();
        Cli.Dispose();
    }

    /// <summary>Starts <c>dotnet agentscope.dll mcp</c> as the agent and connects an MCP client to it.</summary>
    public async Task<McpSession> ConnectAsync(string? key = null)
    {
        var stderr = new ConcurrentQueue<string>();
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "agentscope",
            Command = "dotnet",
            Arguments = [Path.Combine(AppContext.BaseDirectory, "agentscope.dll"), "mcp"],
            EnvironmentVariables = new Dictionary<string, string?> { ["AGENTSCOPE_HOME"] = Cli.Home, ["AGENTSCOPE_API_KEY"] = key ?? Key, ["AGENTSCOPE_URL"] = null },
            StandardErrorLines = stderr.Enqueue,
        });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return new McpSession(await McpClient.CreateAsync(transport, cancellationToken: cts.Token), stderr);
    }

    /// <summary>The audit trail, read back with <c>agentscope audit tail --json</c>.</summary>
    public async Task<List<JsonElement>> AuditAsync()
    {
        var tail = await Cli.RunAsync("audit tail -n 10000 --json");
        Assert.Equal(0, tail.ExitCode);
        return [.. tail.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
    }
}

/// <summary>One MCP client session with a running server process.</summary>
public sealed class McpSession(McpClient client, ConcurrentQueue<string> stderr) : IAsyncDisposable
{
    public McpClient Client => client;
    public IEnumerable<string> Stderr => stderr;

    public async Task<(bool IsError, string Text)> CallAsync(string tool, object? arguments = null)
    {
        var args = arguments is null
            ? new Dictionary<string, object?>()
            : JsonSerializer.Deserialize<Dictionary<string, object?>>(JsonSerializer.Serialize(arguments))!;
        var result = await client.CallToolAsync(tool, args);
        var text = string.Concat(result.Content.OfType<TextContentBlock>().Select(c => c.Text));
        return (result.IsError == true, text);
    }

    public async Task<JsonElement> CallOkAsync(string tool, object? arguments = null)
    {
        var (isError, text) = await CallAsync(tool, arguments);
        Assert.False(isError, $"{tool} failed: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public ValueTask DisposeAsync() => client.DisposeAsync();
}

public sealed class McpServerTests(McpHomeFixture home) : IClassFixture<McpHomeFixture>
{
    private const string Canary = McpHomeFixture.Canary;

    private static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var p) ? p.GetString() : null;

    private static Dictionary<string, string> Auth(string label = "stripe") => new() { ["Authorization"] = "Bearer {{secret:" + label + "}}" };

    [Fact]
    public async Task Tools_list_shows_the_six_vault_tools_with_their_schemas()
    {
        await using var s = await home.ConnectAsync();
        var tools = (await s.Client.ListToolsAsync()).ToDictionary(t => t.Name);
        Assert.Equal(["vault.delete", "vault.get", "vault.list", "vault.request", "vault.store", "vault.totp"], tools.Keys.Order());

        static string[] Required(McpClientTool t) => [.. t.JsonSchema.GetProperty("required").EnumerateArray().Select(e => e.GetString()!)];
        static string[] Properties(McpClientTool t) => [.. t.JsonSchema.GetProperty("properties").EnumerateObject().Select(p => p.Name)];
        Assert.Equal(["url"], Required(tools["vault.request"]));
        Assert.Equal(["url", "method", "headers", "query", "body", "justification"], Properties(tools["vault.request"]));
        Assert.Equal(["label", "value"], Required(tools["vault.store"]));
        Assert.Contains("kind", Properties(tools["vault.store"]));
        foreach (var name in new[] { "vault.get", "vault.delete", "vault.totp" })
        {
            Assert.Equal(["label"], Required(tools[name]));
        }

        Assert.Empty(Properties(tools["vault.list"]).Except(["justification"]));
        Assert.Contains("PREFER", tools["vault.request"].Description, StringComparison.Ordinal);
        Assert.Contains("{{secret:LABEL}}", tools["vault.request"].Description, StringComparison.Ordinal);
        Assert.Contains("vault.request", tools["vault.get"].Description, StringComparison.Ordinal);
        Assert.True(tools["vault.list"].ProtocolTool.Annotations?.ReadOnlyHint);
        Assert.True(tools["vault.delete"].ProtocolTool.Annotations?.DestructiveHint);
        Assert.Contains("vault.request", s.Client.ServerInstructions ?? "", StringComparison.Ordinal);
        Assert.Equal("agentscope", s.Client.ServerInfo?.Name);
    }

    [Fact]
    public async Task Store_list_totp_and_delete_work_and_list_never_shows_a_value()
    {
        await using var s = await home.ConnectAsync();
        var stored = await s.CallOkAsync("vault.store", new { label = "mcp-token", value = "tok-" + Canary });
        Assert.Equal("mcp-token", stored.GetProperty("label").GetString());
        Assert.Equal(1, stored.GetProperty("version").GetInt64());
        Assert.True(stored.GetProperty("created").GetBoolean());
        var rotated = await s.CallOkAsync("vault.store", new { label = "mcp-token", value = "tok2-" + Canary });
        Assert.Equal(2, rotated.GetProperty("version").GetInt64());
        Assert.False(rotated.GetProperty("created").GetBoolean());

        var (listError, listText) = await s.CallAsync("vault.list");
        Assert.False(listError, listText);
        var labels = JsonDocument.Parse(listText).RootElement.GetProperty("labels").EnumerateArray().Select(l => l.GetProperty("label").GetString()).ToList();
        Assert.Contains("mcp-token", labels);
        Assert.Contains("gh", labels);
        Assert.Empty(SecretTraces.Find(listText, Canary));

        var totp = await s.CallOkAsync("vault.store", new { label = "mcp-2fa", value = $"otpauth://totp/Acme:bot?secret={McpHomeFixture.Seed}&issuer=Acme", kind = "totp" });
        Assert.True(totp.GetProperty("created").GetBoolean());
        var code = await s.CallOkAsync("vault.totp", new { label = "mcp-2fa" });
        Assert.Matches("^[0-9]{6}$", code.GetProperty("code").GetString());
        Assert.InRange(code.GetProperty("remaining").GetInt32(), 1, 30);

        var deleted = await s.CallOkAsync("vault.delete", new { label = "mcp-token" });
        Assert.True(deleted.GetProperty("deleted").GetBoolean());
        var again = await s.CallAsync("vault.delete", new { label = "mcp-token" });
        Assert.True(again.IsError);
        Assert.StartsWith("not_found:", again.Text, StringComparison.Ordinal);
        Assert.Equal("mcp-2fa", (await s.CallOkAsync("vault.delete", new { label = "mcp-2fa" })).GetProperty("label").GetString());
        Assert.Empty(SecretTraces.Find(string.Join("\n", s.Stderr), Canary));
    }

    [Theory]
    [InlineData("vault.get", "{\"label\":\"../bot/stripe\"}", "invalid_input:")]
    [InlineData("vault.totp", "{\"label\":\"stripe\"}", "invalid_input:")]
    [InlineData("vault.totp", "{\"label\":\"missing\"}", "not_found:")]
    [InlineData("vault.store", "{\"label\":\"x\",\"value\":\"v\",\"kind\":\"weird\"}", "invalid_input:")]
    [InlineData("vault.store", "{\"label\":\"bad totp\",\"value\":\"v\",\"kind\":\"totp\"}", "invalid_input:")]
    [InlineData("vault.store", "{\"label\":\"x\",\"value\":\"v\",\"expiresAt\":\"2001-01-01T00:00:00Z\"}", "invalid_input:")]
    [InlineData("vault.request", "{\"url\":\"not a url\"}", "invalid_input:")]
    public async Task Bad_input_is_a_tool_error_with_a_stable_code(string tool, string arguments, string code)
    {
        await using var s = await home.ConnectAsync();
        var (isError, text) = await s.CallAsync(tool, JsonSerializer.Deserialize<Dictionary<string, object?>>(arguments));
        Assert.True(isError, text);
        Assert.StartsWith(code, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_is_refused_by_default_points_to_vault_request_and_never_shows_the_value()
    {
        await using var s = await home.ConnectAsync();
        var (isError, text) = await s.CallAsync("vault.get", new { label = "stripe" });
        Assert.True(isError);
        Assert.StartsWith("access_denied:", text, StringComparison.Ordinal);
        Assert.Contains("vault.request", text, StringComparison.Ordinal);
        Assert.Empty(SecretTraces.Find(text, Canary));
        var audit = await home.AuditAsync();
        Assert.Contains(audit, e => Str(e, "action") == "read" && Str(e, "label") == "stripe" && Str(e, "outcome") == "denied" && Str(e, "detail") == "mcp");
    }

    [Fact]
    public async Task Get_returns_the_value_where_a_rule_sets_reveal()
    {
        await using var s = await home.ConnectAsync();
        var entry = await s.CallOkAsync("vault.get", new { label = "public-config" });
        Assert.Equal("visible-value", entry.GetProperty("value").GetString());
        Assert.Equal("generic", entry.GetProperty("kind").GetString());
    }

    [Fact]
    public async Task A_totp_seed_is_not_revealed_even_by_get()
    {
        await using var s = await home.ConnectAsync();
        var (isError, text) = await s.CallAsync("vault.get", new { label = "gh" });
        Assert.True(isError);
        Assert.DoesNotContain(McpHomeFixture.Seed, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_sends_the_secret_to_the_upstream_and_returns_no_trace_of_it_in_any_encoding()
    {
        await using var s = await home.ConnectAsync();
        var before = home.Upstream.Received.Count;
        var (isError, text) = await s.CallAsync("vault.request", new
        {
            method = "POST",
            url = home.Upstream.Url("/echo/{{secret:stripe}}?inline={{secret:stripe}}"),
            headers = new Dictionary<string, string> { ["Authorization"] = "Bearer {{secret:stripe}}", ["X-Otp"] = "{{totp:gh}}" },
            query = new Dictionary<string, string> { ["key"] = "{{secret:stripe}}" },
            body = new { key = "{{secret:stripe}}", note = "hello" },
        });
        Assert.False(isError, text);

        var received = home.Upstream.Received.Skip(before).Single();
        Assert.Equal("Bearer " + Canary, received.Headers["Authorization"]);
        Assert.Equal(Canary, JsonDocument.Parse(received.Body).RootElement.GetProperty("key").GetString());
        Assert.Equal("application/json", received.Headers["Content-Type"]);
        Assert.Equal($"/echo/{Canary}", Uri.UnescapeDataString(received.Path));
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(received.Query);
        Assert.Equal(Canary, query["inline"].ToString());
        Assert.Equal(Canary, query["key"].ToString());
        var code = received.Headers["X-Otp"];
        Assert.Matches("^[0-9]{6}$", code);

        // What the model sees: the tool result text, and the response inside it.
        Assert.Empty(SecretTraces.Find(text, Canary));
        Assert.Empty(SecretTraces.Find(text, code));
        using var result = JsonDocument.Parse(text);
        Assert.Equal(200, result.RootElement.GetProperty("status").GetInt32());
        Assert.False(result.RootElement.GetProperty("truncated").GetBoolean());
        var body = result.RootElement.GetProperty("body").GetString()!;
        Assert.Empty(SecretTraces.Find(body, Canary));
        foreach (var header in result.RootElement.GetProperty("headers").EnumerateObject())
        {
            Assert.Empty(SecretTraces.Find(header.Name + ": " + header.Value.GetString(), Canary));
        }

        // The echo came back, with markers where the values were (it echoes base64, percent, form and hex forms too).
        using var echo = JsonDocument.Parse(body);
        Assert.Equal("{\"key\":\"[redacted:stripe]\",\"note\":\"hello\"}", echo.RootElement.GetProperty("body").GetString());
        Assert.Contains("[redacted:stripe]", echo.RootElement.GetProperty("base64").GetString(), StringComparison.Ordinal);
        Assert.Contains("[redacted:stripe]", echo.RootElement.GetProperty("percent").GetString(), StringComparison.Ordinal);
        Assert.Contains("[redacted:gh]", echo.RootElement.GetProperty("raw").GetString(), StringComparison.Ordinal);
        Assert.Equal("Bearer [redacted:stripe]", result.RootElement.GetProperty("headers").GetProperty("X-Echo-Authorization").GetString());
        Assert.Contains("[redacted:stripe]", result.RootElement.GetProperty("headers").GetProperty("X-Echo-Base64").GetString(), StringComparison.Ordinal);

        // Nor does the server's stderr (its log) hold it.
        Assert.Empty(SecretTraces.Find(string.Join("\n", s.Stderr), Canary));
    }

    [Fact]
    public async Task Request_to_a_host_not_in_allowed_hosts_is_refused_and_nothing_is_sent()
    {
        await using var s = await home.ConnectAsync();
        var before = home.Upstream.Received.Count;
        var (isError, text) = await s.CallAsync("vault.request", new { url = home.Upstream.Url("/echo"), headers = Auth("elsewhere") });
        Assert.True(isError);
        Assert.StartsWith("access_denied:", text, StringComparison.Ordinal);
        Assert.Contains("allowedHosts", text, StringComparison.Ordinal);
        Assert.Equal(before, home.Upstream.Received.Count);
    }

    [Fact]
    public async Task Request_following_a_redirect_to_another_host_is_refused()
    {
        await using var s = await home.ConnectAsync();
        var before = home.Other.Received.Count;
        var target = $"http://localhost:{home.Other.Port}/echo";
        var (isError, text) = await s.CallAsync("vault.request", new { url = home.Upstream.Url("/redirect?to=" + Uri.EscapeDataString(target)), headers = Auth() });
        Assert.True(isError);
        Assert.StartsWith("access_denied:", text, StringComparison.Ordinal);
        Assert.Contains("redirect", text, StringComparison.Ordinal);
        Assert.Equal(before, home.Other.Received.Count);
    }

    [Theory]
    [InlineData("http://{{secret:stripe}}/echo")]
    [InlineData("http://127.0.0.1:{{secret:stripe}}/echo")]
    public async Task Request_with_a_placeholder_in_the_host_or_port_is_refused(string url)
    {
        await using var s = await home.ConnectAsync();
        var before = home.Upstream.Received.Count;
        var (isError, text) = await s.CallAsync("vault.request", new { url });
        Assert.True(isError);
        Assert.StartsWith("invalid_input:", text, StringComparison.Ordinal);
        Assert.Contains("never choose where it is sent", text, StringComparison.Ordinal);
        Assert.Equal(before, home.Upstream.Received.Count);
    }

    [Fact]
    public async Task Request_with_an_oversize_response_is_truncated_at_the_configured_limit()
    {
        await using var s = await home.ConnectAsync();
        var result = await s.CallOkAsync("vault.request", new { url = home.Upstream.Url("/big?n=1000000"), headers = Auth() });
        Assert.True(result.GetProperty("truncated").GetBoolean());
        // At most the limit; the scrubber also drops the last few hundred characters, which could hold the start of a value.
        Assert.InRange(result.GetProperty("body").GetString()!.Length, McpHomeFixture.MaxResponseBytes - 1024, McpHomeFixture.MaxResponseBytes);
    }

    [Fact]
    public async Task The_audit_trail_records_each_request_with_label_host_method_and_status_and_never_a_value()
    {
        await using var s = await home.ConnectAsync();
        var marker = Guid.NewGuid().ToString("N");
        await s.CallOkAsync("vault.request", new { method = "PUT", url = home.Upstream.Url($"/echo/{marker}"), headers = Auth(), justification = "refund ticket " + marker });
        var audit = await home.AuditAsync();
        var mine = audit.Where(e => Str(e, "justification") == "refund ticket " + marker).ToList();
        Assert.Contains(mine, e => Str(e, "action") == "request" && Str(e, "label") == "stripe" && Str(e, "outcome") == "ok" && Str(e, "detail") == "mcp use for http://127.0.0.1");
        var done = Assert.Single(mine, e => Str(e, "detail")!.EndsWith("-> 200", StringComparison.Ordinal));
        Assert.Equal($"mcp PUT http://127.0.0.1:{home.Upstream.Port}/echo/{marker} -> 200", Str(done, "detail"));
        Assert.Equal("stripe", Str(done, "label"));
        Assert.Equal("agent:bot", Str(done, "actor"));
        Assert.StartsWith("mcp-", Str(done, "requestId"), StringComparison.Ordinal);

        // Nothing under the home holds the value in any form: audit trail, store, logs.
        foreach (var file in Directory.EnumerateFiles(home.Cli.Home, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith("policy.json", StringComparison.Ordinal)))
        {
            var content = System.Text.Encoding.UTF8.GetString(await File.ReadAllBytesAsync(file));
            Assert.True(SecretTraces.Find(content, Canary).Count == 0, file);
        }

        Assert.Equal(0, (await home.Cli.RunAsync("audit verify")).ExitCode);
    }

    [Fact]
    public async Task A_justification_required_by_policy_is_enforced_and_recorded()
    {
        var policyFile = Path.Combine(home.Cli.Home, "strict.json");
        await File.WriteAllTextAsync(policyFile, """{"rules":[{"labels":"*","operations":["*"],"requireJustification":true}]}""");
        var key = (await home.Cli.RunAsync($"agent create strict --policy-file {policyFile}")).Stdout.Trim();
        await using var s = await home.ConnectAsync(key);
        var refused = await s.CallAsync("vault.store", new { label = "x", value = "v" });
        Assert.True(refused.IsError);
        Assert.StartsWith("access_denied:", refused.Text, StringComparison.Ordinal);
        Assert.Contains("justification", refused.Text, StringComparison.Ordinal);
        await s.CallOkAsync("vault.store", new { label = "x", value = "v", justification = "ticket 42" });
        Assert.Contains(await home.AuditAsync(), e => Str(e, "agentId") == "strict" && Str(e, "action") == "write" && Str(e, "justification") == "ticket 42");
    }

    [Fact]
    public async Task A_revoke_made_during_a_session_applies_to_the_next_call()
    {
        var key = (await home.Cli.RunAsync("agent create shortlived")).Stdout.Trim();
        await using var s = await home.ConnectAsync(key);
        await s.CallOkAsync("vault.store", new { label = "x", value = "v" });
        Assert.Equal(0, (await home.Cli.RunAsync("agent revoke shortlived --yes")).ExitCode);
        var (isError, text) = await s.CallAsync("vault.list");
        Assert.True(isError);
        Assert.Matches("^(agent_revoked|unauthenticated):", text);
    }

    [Fact]
    public async Task The_server_does_not_start_without_a_valid_agent_key_and_says_why_on_stderr()
    {
        var none = await home.Cli.RunAsync("mcp");
        Assert.Equal(2, none.ExitCode);
        Assert.Empty(none.Stdout);
        Assert.Contains("AGENTSCOPE_API_KEY", none.Stderr, StringComparison.Ordinal);

        var wrong = await home.Cli.RunAsync("mcp", apiKey: home.Key + "x");
        Assert.Equal(4, wrong.ExitCode);
        Assert.Empty(wrong.Stdout);
        Assert.DoesNotContain(home.Key, wrong.Stderr, StringComparison.Ordinal);
    }
}
