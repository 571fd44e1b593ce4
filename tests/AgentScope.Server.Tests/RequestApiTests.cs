using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentScope.Audit;
using AgentScope.Injection;
using AgentScope.Testing;
using Microsoft.Extensions.DependencyInjection;
using static AgentScope.Server.Tests.TestServer;

namespace AgentScope.Server.Tests;

/// <summary>
/// Issue 9's REST injection: <c>POST /v0/request</c> against an echo upstream on 127.0.0.1 (allowed to the agent's
/// labels by <c>allowHttpLoopback</c> rules), with the leak checker on everything the caller gets back.
/// </summary>
public sealed class RequestApiTests : IAsyncLifetime
{
    // Characters every encoding treats differently: space, plus, slash, equals, quotes, angle brackets, backslash, percent.
    private const string Canary = "sk_live 9+/=\"q'<&>\\ab%41~rest-Canary-4Qw";
    private const string Seed = "JBSWY3DPEHPK3PXP";
    private const int MaxResponseBytes = 16 * 1024;

    private const string Policy = """
        {"rules": [
          {"labels": "*", "operations": ["read", "write", "delete", "list", "totp"]},
          {"labels": "stripe", "operations": ["use"], "allowedHosts": ["127.0.0.1"], "allowHttpLoopback": true},
          {"labels": "gh", "operations": ["use"], "allowedHosts": ["127.0.0.1"], "allowHttpLoopback": true},
          {"labels": "elsewhere", "operations": ["use"], "allowedHosts": ["api.example.com"]},
          {"labels": "public-*", "operations": ["read"], "reveal": true}
        ]}
        """;

    private TestServer _server = null!;
    private EchoUpstream _upstream = null!;
    private string _key = null!;

    public async Task InitializeAsync()
    {
        _upstream = await EchoUpstream.StartAsync();
        // The application's own injection settings are kept: AddAgentScopeServer only adds the engine when it is missing.
        _server = await StartAsync(services: s => s.AddAgentScopeInjection(o => o.MaxResponseBytes = MaxResponseBytes));
        _key = await _server.CreateAgentAsync("billing-bot", JsonNode.Parse(Policy));
        await StoreAsync("stripe", Canary);
        await StoreAsync("elsewhere", Canary);
        await StoreAsync("public-config", "visible-value");
        await StoreAsync("gh", Seed, "totp");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private async Task StoreAsync(string label, string value, string? kind = null)
    {
        using var stored = await _server.SendAsync(HttpMethod.Post, "/v0/vault", _key, kind is null ? new { label, value } : new { label, value, kind });
        Assert.Equal(HttpStatusCode.Created, stored.StatusCode);
    }

    private Task<HttpResponseMessage> RequestAsync(object body, IDictionary<string, string>? headers = null, string? key = null) =>
        _server.SendAsync(HttpMethod.Post, "/v0/request", key ?? _key, body, headers: headers);

    private static Dictionary<string, string> Auth(string label = "stripe") => new() { ["Authorization"] = "Bearer {{secret:" + label + "}}" };

    private async Task<List<AuditEvent>> AuditAsync()
    {
        var events = new List<AuditEvent>();
        await foreach (var e in _server.Services.GetRequiredService<IAuditTrail>().QueryAsync(new AuditQuery { AgentId = "billing-bot", Limit = 10_000 }))
        {
            events.Add(e);
        }

        return events;
    }

    [Fact]
    public async Task Injected_values_reach_the_upstream_and_the_response_holds_no_trace_of_them_in_any_form()
    {
        using var response = await RequestAsync(new
        {
            method = "POST",
            url = _upstream.Url("/echo/{{secret:stripe}}?inline={{secret:stripe}}"),
            headers = new Dictionary<string, string> { ["Authorization"] = "Bearer {{secret:stripe}}", ["X-Otp"] = "{{totp:gh}}" },
            query = new Dictionary<string, string> { ["key"] = "{{secret:stripe}}" },
            body = new { key = "{{secret:stripe}}", note = "hello" },
        });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);

        // The upstream got the real values, each in the encoding of its position.
        var received = Assert.Single(_upstream.Received);
        Assert.Equal("Bearer " + Canary, received.Headers["Authorization"]);
        Assert.Equal("application/json", received.Headers["Content-Type"]);
        Assert.Equal(Canary, JsonDocument.Parse(received.Body).RootElement.GetProperty("key").GetString());
        Assert.Equal($"/echo/{Canary}", Uri.UnescapeDataString(received.Path));
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(received.Query);
        Assert.Equal(Canary, query["inline"].ToString());
        Assert.Equal(Canary, query["key"].ToString());
        var code = received.Headers["X-Otp"];
        Assert.Matches("^[0-9]{6}$", code);

        // What the caller got back: no trace of either value, whatever the encoding, in status, headers or body.
        Assert.Empty(SecretTraces.Find(text, Canary));
        Assert.Empty(SecretTraces.Find(text, code));
        using var result = JsonDocument.Parse(text);
        Assert.Equal(["status", "headers", "body", "truncated"], result.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(200, result.RootElement.GetProperty("status").GetInt32());
        Assert.False(result.RootElement.GetProperty("truncated").GetBoolean());
        foreach (var header in result.RootElement.GetProperty("headers").EnumerateObject())
        {
            Assert.Empty(SecretTraces.Find(header.Name + ": " + header.Value.GetString(), Canary));
        }

        var body = result.RootElement.GetProperty("body").GetString()!;
        Assert.Empty(SecretTraces.Find(body, Canary));
        using var echo = JsonDocument.Parse(body);
        Assert.Equal("{\"key\":\"[redacted:stripe]\",\"note\":\"hello\"}", echo.RootElement.GetProperty("body").GetString());
        Assert.Contains("[redacted:stripe]", echo.RootElement.GetProperty("base64").GetString(), StringComparison.Ordinal);
        Assert.Equal("Bearer [redacted:stripe]", result.RootElement.GetProperty("headers").GetProperty("X-Echo-Authorization").GetString());
        Assert.Empty(SecretTraces.Find(_server.Logs.All, Canary));
    }

    [Fact]
    public async Task A_string_body_is_sent_as_it_is_with_the_content_type_the_caller_names()
    {
        var headers = new Dictionary<string, string>(Auth()) { ["Content-Type"] = "application/x-www-form-urlencoded" };
        using var response = await RequestAsync(new { method = "POST", url = _upstream.Url("/form"), headers, body = "amount=5&key={{secret:stripe}}" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(_upstream.Received);
        Assert.Equal("application/x-www-form-urlencoded", received.Headers["Content-Type"]);
        var form = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery("?" + received.Body);
        Assert.Equal(Canary, form["key"].ToString());
        Assert.Equal("5", form["amount"].ToString());
        Assert.Empty(SecretTraces.Find(await response.Content.ReadAsStringAsync(), Canary));
    }

    [Theory]
    [InlineData(404)]
    [InlineData(500)]
    [InlineData(503)]
    public async Task The_upstream_status_whatever_it_is_comes_back_in_a_200(int status)
    {
        using var response = await RequestAsync(new { url = _upstream.Url($"/status?code={status}"), headers = Auth() });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await ReadJsonAsync(response);
        Assert.Equal(status, body["status"]!.GetValue<int>());
        Assert.Contains("[redacted:stripe]", body["body"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_not_allowed_for_the_label_is_403_and_the_upstream_sees_nothing()
    {
        // 127.0.0.1 is allowed for stripe, but "localhost" is another name, and elsewhere may only go to api.example.com.
        using var byName = await RequestAsync(new { url = $"http://localhost:{_upstream.Port}/echo", headers = Auth() });
        Assert.Equal("access_denied", await AssertErrorAsync(byName, 403));
        using var elsewhere = await RequestAsync(new { url = _upstream.Url("/echo"), headers = Auth("elsewhere") });
        var text = await elsewhere.Content.ReadAsStringAsync();
        Assert.Equal("access_denied", await AssertErrorAsync(elsewhere, 403));
        Assert.Contains("allowedHosts", text, StringComparison.Ordinal);
        Assert.Empty(_upstream.Received);
        Assert.Empty(SecretTraces.Find(text, Canary));
    }

    [Fact]
    public async Task A_placeholder_in_the_host_is_400_before_any_value_is_read()
    {
        using var response = await RequestAsync(new { url = "http://{{secret:stripe}}.127.0.0.1.nip.io/" });
        Assert.Equal("invalid_input", await AssertErrorAsync(response, 400));
        Assert.Empty(_upstream.Received);
        Assert.DoesNotContain(await AuditAsync(), e => e.Action == AuditActions.Request);
    }

    [Fact]
    public async Task A_redirect_to_another_origin_is_403_and_is_not_followed()
    {
        var other = $"http://localhost:{_upstream.Port}/stolen";
        using var response = await RequestAsync(new { url = _upstream.Url("/redirect?to=" + Uri.EscapeDataString(other)), headers = Auth() });
        Assert.Equal("access_denied", await AssertErrorAsync(response, 403));
        Assert.Single(_upstream.Received); // the first request only
    }

    [Fact]
    public async Task A_label_no_use_rule_names_is_403_a_missing_one_404_and_an_unreachable_upstream_502_upstream_failed()
    {
        using var unnamed = await RequestAsync(new { url = _upstream.Url("/echo"), headers = Auth("nope") });
        Assert.Equal("access_denied", await AssertErrorAsync(unnamed, 403)); // denied by policy before any lookup

        using var deleted = await _server.SendAsync(HttpMethod.Delete, "/v0/vault/stripe", _key);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var notFound = await RequestAsync(new { url = _upstream.Url("/echo"), headers = Auth() });
        Assert.Equal("not_found", await AssertErrorAsync(notFound, 404));
        Assert.Empty(_upstream.Received);

        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var closedPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var unreachable = await RequestAsync(new { url = $"http://127.0.0.1:{closedPort}/x", headers = new Dictionary<string, string> { ["X-Otp"] = "{{totp:gh}}" } });
        Assert.Equal("upstream_failed", await AssertErrorAsync(unreachable, 502));
    }

    [Fact]
    public async Task A_response_over_the_configured_limit_is_cut_and_flagged_truncated()
    {
        using var response = await RequestAsync(new { url = _upstream.Url($"/big?n={4 * MaxResponseBytes}"), headers = Auth() });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await ReadJsonAsync(response);
        Assert.True(body["truncated"]!.GetValue<bool>());
        Assert.InRange(body["body"]!.GetValue<string>().Length, MaxResponseBytes - 1024, MaxResponseBytes);
    }

    [Theory]
    [InlineData("", "a JSON object is required")]
    [InlineData("{not json", "malformed JSON")]
    [InlineData("{}", "missing required field: url")]
    [InlineData("{\"url\":5}", "wrong type")]
    [InlineData("{\"url\":\"http://127.0.0.1/{{secret:stripe}}\",\"justification\":\"x\"}", "unknown field")]
    [InlineData("{\"url\":\"http://127.0.0.1/{{secret:stripe}}\",\"headers\":{\"a\":1}}", "wrong type")]
    [InlineData("{\"url\":\"http://127.0.0.1/{{secret:stripe}}\",\"headers\":{\"Host\":\"evil.example\"}}", "set by AgentScope")]
    [InlineData("{\"url\":\"http://127.0.0.1/{{secret:stripe}}\",\"method\":\"TRACE\"}", "not supported")]
    [InlineData("{\"url\":\"http://127.0.0.1/plain\"}", "no {{secret:LABEL}}")]
    [InlineData("{\"url\":\"ftp://127.0.0.1/{{secret:stripe}}\"}", "absolute https://")]
    public async Task A_bad_request_body_is_400_with_a_message_that_says_what_is_wrong(string raw, string message)
    {
        using var response = await _server.SendAsync(HttpMethod.Post, "/v0/request", _key, raw: raw);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal("invalid_input", await AssertErrorAsync(response, 400));
        Assert.Contains(message, JsonNode.Parse(text)!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(_upstream.Received);
    }

    [Fact]
    public async Task An_oversize_request_body_is_413()
    {
        var big = new string('x', 300 * 1024);
        using var response = await RequestAsync(new { method = "POST", url = _upstream.Url("/echo"), headers = Auth(), body = big });
        Assert.Equal("value_too_large", await AssertErrorAsync(response, 413));
        Assert.Empty(_upstream.Received);
    }

    [Fact]
    public async Task It_takes_an_agent_key_only()
    {
        using var anonymous = await _server.SendAsync(HttpMethod.Post, "/v0/request", key: null, json: new { url = _upstream.Url("/echo"), headers = Auth() });
        Assert.Equal("unauthenticated", await AssertErrorAsync(anonymous, 401));
        using var admin = await RequestAsync(new { url = _upstream.Url("/echo"), headers = Auth() }, key: _server.AdminKey);
        await AssertErrorAsync(admin, 403);
        Assert.Empty(_upstream.Received);
    }

    [Fact]
    public async Task The_audit_trail_records_each_use_with_host_method_status_and_justification_and_never_a_value()
    {
        var marker = Guid.NewGuid().ToString("N");
        using var response = await RequestAsync(new { method = "PUT", url = _upstream.Url($"/echo/{marker}"), headers = Auth() },
            new Dictionary<string, string> { ["X-AgentScope-Justification"] = "refund " + marker, ["X-Request-Id"] = "req-" + marker });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var denied = await RequestAsync(new { url = _upstream.Url("/echo"), headers = Auth("elsewhere") });
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);

        var audit = await AuditAsync();
        var mine = audit.Where(e => e.RequestId == "req-" + marker).ToList();
        Assert.Contains(mine, e => e.Action == AuditActions.Request && e.Label == "stripe" && e.Outcome == AuditOutcomes.Ok && e.Detail == "rest use for http://127.0.0.1");
        var done = Assert.Single(mine, e => e.Detail!.EndsWith("-> 200", StringComparison.Ordinal));
        Assert.Equal($"rest PUT http://127.0.0.1:{_upstream.Port}/echo/{marker} -> 200", done.Detail);
        Assert.Equal("refund " + marker, done.Justification);
        Assert.Equal("agent:billing-bot", done.Actor);
        Assert.Contains(audit, e => e.Action == AuditActions.Request && e.Label == "elsewhere" && e.Outcome == AuditOutcomes.Denied);

        var all = string.Join("\n", audit.Select(e => JsonSerializer.Serialize(e)));
        Assert.Empty(SecretTraces.Find(all, Canary));
        Assert.Empty(SecretTraces.Find(_server.Logs.All, Canary));
    }

    [Fact]
    public async Task The_per_agent_rate_limit_applies()
    {
        await using var server = await StartAsync(o => o.AgentRequestsPerMinute = 3);
        var key = await server.CreateAgentAsync("busy-bot", JsonNode.Parse(Policy));
        using (var stored = await server.SendAsync(HttpMethod.Post, "/v0/vault", key, new { label = "stripe", value = Canary }))
        {
            Assert.Equal(HttpStatusCode.Created, stored.StatusCode);
        }

        for (var i = 0; i < 2; i++)
        {
            using var ok = await server.SendAsync(HttpMethod.Post, "/v0/request", key, new { url = _upstream.Url("/echo"), headers = Auth() });
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var limited = await server.SendAsync(HttpMethod.Post, "/v0/request", key, new { url = _upstream.Url("/echo"), headers = Auth() });
        Assert.Equal("rate_limited", await AssertErrorAsync(limited, 429));
        Assert.NotNull(limited.Headers.RetryAfter);
        Assert.Equal(2, _upstream.Received.Count);
    }

    [Fact]
    public async Task Add_agentscope_server_keeps_an_executor_the_application_registered()
    {
        var mine = new InjectedRequestExecutor(new InjectionOptions { UserAgent = "mine" });
        await using var server = await StartAsync(services: s => s.AddSingleton(mine));
        Assert.Same(mine, server.Services.GetRequiredService<InjectedRequestExecutor>());
        Assert.Equal(MaxResponseBytes, _server.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<InjectionOptions>>().Value.MaxResponseBytes);

        var key = await server.CreateAgentAsync("ua-bot", JsonNode.Parse(Policy));
        using (await server.SendAsync(HttpMethod.Post, "/v0/vault", key, new { label = "stripe", value = Canary }))
        {
        }

        using var response = await server.SendAsync(HttpMethod.Post, "/v0/request", key, new { url = _upstream.Url("/echo"), headers = Auth() });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("mine", Assert.Single(_upstream.Received).Headers["User-Agent"]);
    }

    [Fact]
    public async Task Reveal_to_model_applies_the_rules_reveal_flag_and_points_to_post_v0_request()
    {
        var toModel = new Dictionary<string, string> { ["X-AgentScope-Reveal-To"] = "model" };
        using var refused = await _server.SendAsync(HttpMethod.Get, "/v0/vault/stripe", _key, headers: toModel);
        var text = await refused.Content.ReadAsStringAsync();
        Assert.Equal("access_denied", await AssertErrorAsync(refused, 403));
        Assert.Contains("reveal", text, StringComparison.Ordinal);
        Assert.Contains("POST /v0/request", text, StringComparison.Ordinal);
        Assert.Contains("vault.request", text, StringComparison.Ordinal);
        Assert.Empty(SecretTraces.Find(text, Canary));

        using var allowed = await _server.SendAsync(HttpMethod.Get, "/v0/vault/public-config", _key, headers: toModel);
        Assert.Equal("visible-value", (await ReadJsonAsync(allowed))["value"]!.GetValue<string>());

        // Advisory: without the header the key holder reads as always.
        using var plain = await _server.SendAsync(HttpMethod.Get, "/v0/vault/stripe", _key);
        Assert.Equal(Canary, (await ReadJsonAsync(plain))["value"]!.GetValue<string>());

        using var unknown = await _server.SendAsync(HttpMethod.Get, "/v0/vault/stripe", _key, headers: new Dictionary<string, string> { ["X-AgentScope-Reveal-To"] = "human" });
        Assert.Equal("invalid_input", await AssertErrorAsync(unknown, 400));

        Assert.Contains(await AuditAsync(), e => e.Action == AuditActions.Read && e.Label == "stripe" && e.Outcome == AuditOutcomes.Denied &&
            e.Reason!.Contains("revealed to a model", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_json_body_that_is_not_a_string_goes_as_application_json_and_null_means_no_body()
    {
        using var array = await RequestAsync(new { method = "POST", url = _upstream.Url("/echo"), headers = Auth(), body = new object[] { 1, "{{secret:stripe}}", true } });
        Assert.Equal(HttpStatusCode.OK, array.StatusCode);
        using var none = await _server.SendAsync(HttpMethod.Post, "/v0/request", _key,
            raw: $"{{\"method\":\"POST\",\"url\":\"{_upstream.Url("/echo")}\",\"headers\":{{\"Authorization\":\"Bearer {{{{secret:stripe}}}}\"}},\"body\":null}}");
        Assert.Equal(HttpStatusCode.OK, none.StatusCode);

        var received = _upstream.Received.ToArray();
        Assert.Equal("application/json", received[0].Headers["Content-Type"]);
        Assert.Equal(Canary, JsonDocument.Parse(received[0].Body).RootElement[1].GetString());
        Assert.Equal("", received[1].Body);
        Assert.False(received[1].Headers.ContainsKey("Content-Type"));
    }

    [Fact]
    public async Task Non_ascii_text_in_a_body_survives_the_trip()
    {
        var headers = new Dictionary<string, string>(Auth()) { ["Content-Type"] = "text/plain; charset=utf-8" };
        using var response = await RequestAsync(new { method = "POST", url = _upstream.Url("/echo"), headers, body = "naïve ✓ {{secret:stripe}}" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("naïve ✓ " + Canary, Assert.Single(_upstream.Received).Body);
        var echo = JsonNode.Parse((await ReadJsonAsync(response))["body"]!.GetValue<string>())!;
        Assert.Equal("naïve ✓ [redacted:stripe]", echo["body"]!.GetValue<string>());
    }
}
