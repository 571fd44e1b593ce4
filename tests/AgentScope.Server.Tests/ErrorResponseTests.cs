using AgentScope.Audit;
using Microsoft.Extensions.DependencyInjection;
using static AgentScope.Server.Tests.TestServer;

namespace AgentScope.Server.Tests;

public sealed class ErrorResponseTests : IAsyncLifetime
{
    private TestServer _server = null!;
    private string _key = null!;

    public async Task InitializeAsync()
    {
        _server = await StartAsync();
        _key = await _server.CreateAgentAsync("support-bot");
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("{not json", "malformed JSON")]
    [InlineData("{\"label\":\"a\",\"value\":\"v\"", "malformed JSON")]
    [InlineData("{\"label\":\"a\",\"value\":\"v\",}", "malformed JSON")]
    [InlineData("{\"label\":\"a\",\"value\":\"v\"} {}", "malformed JSON")]
    [InlineData("{\"label\":5,\"value\":[]}", "wrong type")]
    [InlineData("{\"label\":\"a\",\"value\":7}", "wrong type")]
    [InlineData("[\"a\"]", "must be a JSON object")]
    [InlineData("\"just a string\"", "must be a JSON object")]
    [InlineData("null", "must be a JSON object")]
    [InlineData("", "a JSON object is required")]
    [InlineData("{\"label\":\"a\",\"value\":\"v\",\"extra\":1}", "unknown field")]
    [InlineData("{\"Label\":\"a\",\"value\":\"v\"}", "unknown field")]
    [InlineData("{\"label\":\"a\"}", "missing required field: value")]
    [InlineData("{\"label\":null,\"value\":\"v\"}", "null is not allowed")]
    [InlineData("{\"label\":\"a\",\"label\":\"b\",\"value\":\"v\"}", "duplicate field")]
    [InlineData("{\"label\":\"a\",\"value\":\"v\",\"kind\":\"registry\"}", "kind must be")]
    [InlineData("{\"label\":\"a\",\"value\":\"v\",\"expiresAt\":\"tomorrow\"}", "wrong type")]
    [InlineData("{\"label\":\"../x\",\"value\":\"v\"}", "invalid label")]
    public async Task Bad_json_gets_400_with_the_error_shape_and_a_message_saying_what_is_wrong(string body, string expected)
    {
        using var response = await _server.SendAsync(HttpMethod.Post, "/v0/vault", _key, raw: body);
        Assert.Equal("invalid_input", await AssertErrorAsync(response, 400));
        Assert.Contains(expected, (await ReadJsonAsync(response))["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/v0/vault/bad%2F..%2Flabel")]
    [InlineData("/v0/vault/..%2F..%2Fetc%2Fpasswd")]
    [InlineData("/v0/vault/%2e%2e%2fx")]
    [InlineData("/v0/vault/a%00b")]
    [InlineData("/v0/vault/caf%C3%A9")]
    [InlineData("/v0/vault/%E2%80%AEevil")]
    [InlineData("/v0/vault/-leading-dash")]
    [InlineData("/v0/vault/label%20with%20spaces")]
    public async Task A_bad_label_in_the_path_is_a_client_error_never_a_500(string path)
    {
        using var get = await _server.SendAsync(HttpMethod.Get, path, _key);
        Assert.InRange((int)get.StatusCode, 400, 404);
        if (get.Content.Headers.ContentLength is not 0)
        {
            await AssertErrorAsync(get, (int)get.StatusCode); // Kestrel itself refuses some paths (a NUL byte) before any middleware
        }

        using var delete = await _server.SendAsync(HttpMethod.Delete, path, _key);
        Assert.InRange((int)delete.StatusCode, 400, 404);
    }

    [Fact]
    public async Task The_percent_encoded_traversal_of_the_contract_is_an_invalid_label()
    {
        using var response = await _server.SendAsync(HttpMethod.Get, "/v0/vault/bad%2F..%2Flabel", _key);
        Assert.Equal("invalid_input", await AssertErrorAsync(response, 400));
    }

    [Fact]
    public async Task A_missing_malformed_or_unknown_key_is_401()
    {
        Assert.Equal("unauthenticated", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Get, "/v0/vault/x"), 401));
        Assert.Equal("unauthenticated", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Get, "/v0/vault/x", "not-a-key"), 401));
        Assert.Equal("unauthenticated", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Get, "/v0/vault/x", _key + "x"), 401));
        Assert.Equal("unauthenticated", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Get, "/v0/vault/x", "ask_nobody_0123456789ab_secret"), 401));
        Assert.Equal("unauthenticated", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Get, "/v0/agents", _server.AdminKey[..^2]), 401));
        using var basic = await _server.SendAsync(HttpMethod.Get, "/v0/vault/x", headers: new Dictionary<string, string> { ["Authorization"] = "Basic " + _key });
        Assert.Equal("unauthenticated", await AssertErrorAsync(basic, 401));
    }

    [Fact]
    public async Task An_agent_key_on_an_admin_route_and_an_admin_key_on_an_agent_route_are_403()
    {
        Assert.Equal("access_denied", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Get, "/v0/agents", _key), 403));
        Assert.Equal("access_denied", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Post, "/v0/sweep", _key), 403));
        Assert.Equal("access_denied", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Get, "/v0/audit", _key), 403));
        Assert.Equal("access_denied", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Get, "/v0/vault/x", _server.AdminKey), 403));
        Assert.Equal("access_denied", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Post, "/v0/vault", _server.AdminKey, new { label = "a", value = "v" }), 403));
    }

    [Fact]
    public async Task A_policy_denial_is_403_and_a_revoked_agent_is_403_agent_revoked()
    {
        var reader = await _server.CreateAgentAsync("read-only", new { rules = new[] { new { labels = "*", operations = new[] { "read", "list" } } } });
        Assert.Equal("access_denied", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Post, "/v0/vault", reader, new { label = "a", value = "v" }), 403));

        using var revoke = await _server.SendAsync(HttpMethod.Delete, "/v0/agents/read-only", _server.AdminKey);
        Assert.Equal(200, (int)revoke.StatusCode);
        Assert.Equal("agent_revoked", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Get, "/v0/vault/a", reader), 403));
    }

    [Fact]
    public async Task Unknown_routes_and_methods_get_the_error_shape_too()
    {
        Assert.Equal("not_found", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Get, "/v0/nothing-here", _key), 404));
        Assert.Equal("method_not_allowed", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Put, "/v0/vault", _key), 405));
        Assert.Equal("not_found", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Get, "/v0/agents/nobody", _server.AdminKey), 404));
    }

    [Fact]
    public async Task Creating_an_existing_agent_is_409()
    {
        using var response = await _server.SendAsync(HttpMethod.Post, "/v0/agents", _server.AdminKey, new { id = "support-bot" });
        Assert.Equal("conflict", await AssertErrorAsync(response, 409));
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413_and_so_is_a_value_over_the_cores_limit()
    {
        // A small body limit, so the whole over-limit body fits in the socket buffers: the server answers 413 and closes
        // while the client may still be sending, and with a body larger than those buffers the client would see a reset
        // instead of the answer (a race, not what this test is about).
        await using var small = await TestServer.StartAsync(o => o.MaxRequestBodyBytes = 4096);
        var key = await small.CreateAgentAsync("small");
        var huge = "{\"label\":\"big\",\"value\":\"" + new string('a', 6_000) + "\"}";
        Assert.Equal("value_too_large", await AssertErrorAsync(await small.SendAsync(HttpMethod.Post, "/v0/vault", key, raw: huge), 413));

        // Without Content-Length (chunked), the limit holds as the body is read. Kestrel answers 413 and then closes the
        // connection while HttpClient may still be sending chunks; when that race makes the client lose the answer
        // ("response ended prematurely", "broken pipe") the attempt is repeated. Any answer other than 413 fails at once.
        HttpResponseMessage? answer = null;
        for (var attempt = 0; attempt < 5 && answer is null; attempt++)
        {
            using var chunked = new HttpRequestMessage(HttpMethod.Post, "/v0/vault") { Content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(huge))) };
            chunked.Headers.TransferEncodingChunked = true;
            chunked.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            try
            {
                answer = await small.Client.SendAsync(chunked);
            }
            catch (HttpRequestException)
            {
                await Task.Delay(50);
            }
        }

        Assert.NotNull(answer);
        Assert.Equal("value_too_large", await AssertErrorAsync(answer, 413));
        answer.Dispose();

        // Under the body limit but over the core's 64 KiB value limit: the core refuses it, after reading the whole body.
        var overValueLimit = new { label = "big", value = new string('a', 70_000) };
        Assert.Equal("value_too_large", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Post, "/v0/vault", _key, overValueLimit), 413));
    }

    [Fact]
    public async Task A_failing_backend_is_503_with_retry_after_and_readiness_fails()
    {
        await _server.SendAsync(HttpMethod.Post, "/v0/vault", _key, new { label = "a", value = "v" });
        Assert.Equal(200, (int)(await _server.SendAsync(HttpMethod.Get, "/readyz")).StatusCode);
        _server.Backend.Unavailable = true;
        try
        {
            using var read = await _server.SendAsync(HttpMethod.Get, "/v0/vault/a", _key);
            Assert.Equal("backend_unavailable", await AssertErrorAsync(read, 503));
            Assert.Equal(TimeSpan.FromSeconds(7), read.Headers.RetryAfter?.Delta);

            // A batch read fails as a whole (not label by label), with or without labels.
            foreach (var body in new[] { "{\"labels\":[\"a\",\"b\",\"c\"]}", "{}" })
            {
                using var batch = await _server.SendAsync(HttpMethod.Post, "/v0/vault/batch-get", _key, raw: body);
                Assert.Equal("backend_unavailable", await AssertErrorAsync(batch, 503));
                Assert.Equal(TimeSpan.FromSeconds(7), batch.Headers.RetryAfter?.Delta);
            }

            using var ready = await _server.SendAsync(HttpMethod.Get, "/readyz");
            Assert.Equal("backend_unavailable", await AssertErrorAsync(ready, 503));
            Assert.Equal(TimeSpan.FromSeconds(7), ready.Headers.RetryAfter?.Delta);
            Assert.StartsWith("the InMemory backend failed its health check: the test backend is unreachable",
                (await ReadJsonAsync(ready))["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal(200, (int)(await _server.SendAsync(HttpMethod.Get, "/healthz")).StatusCode);
        }
        finally
        {
            _server.Backend.Unavailable = false;
        }
    }

    [Fact]
    public async Task A_failing_audit_sink_refuses_the_operation_with_503_and_retry_after()
    {
        _server.Audit.Failing = true;
        try
        {
            using var store = await _server.SendAsync(HttpMethod.Post, "/v0/vault", _key, new { label = "a", value = "v" });
            Assert.Equal("backend_unavailable", await AssertErrorAsync(store, 503));
            Assert.NotNull(store.Headers.RetryAfter);
        }
        finally
        {
            _server.Audit.Failing = false;
        }

        Assert.Equal("not_found", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Get, "/v0/vault/a", _key), 404)); // nothing was stored
    }

    [Fact]
    public async Task Readiness_is_503_with_the_reason_while_the_audit_sink_cannot_record_and_200_once_it_can()
    {
        Assert.Equal(200, (int)(await _server.SendAsync(HttpMethod.Get, "/readyz")).StatusCode);
        _server.Audit.Failing = true;
        try
        {
            for (var probe = 0; probe < 3; probe++)
            {
                using var ready = await _server.SendAsync(HttpMethod.Get, "/readyz");
                Assert.Equal("backend_unavailable", await AssertErrorAsync(ready, 503));
                Assert.NotNull(ready.Headers.RetryAfter);
                var message = (await ReadJsonAsync(ready))["error"]!["message"]!.GetValue<string>();
                Assert.Equal("the audit sink cannot record: the test audit sink refuses", message);
            }

            Assert.Equal(200, (int)(await _server.SendAsync(HttpMethod.Get, "/healthz")).StatusCode); // alive, just not ready
        }
        finally
        {
            _server.Audit.Failing = false;
        }

        using var recovered = await _server.SendAsync(HttpMethod.Get, "/readyz");
        Assert.Equal("ready", (await ReadJsonAsync(recovered))["status"]!.GetValue<string>());

        // Logged when readiness changes, not on every probe.
        Assert.Single(_server.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("not ready (backend_unavailable): the audit sink", StringComparison.Ordinal));
        Assert.Single(_server.Logs.Lines, l => l.Contains("ready again", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_missing_audit_log_file_makes_readiness_fail()
    {
        Assert.Equal(200, (int)(await _server.SendAsync(HttpMethod.Get, "/readyz")).StatusCode);
        var log = Assert.IsType<JsonLinesAuditSink>(_server.Services.GetRequiredService<IAuditTrail>()).FilePath;
        File.Move(log, log + ".moved");
        try
        {
            using var ready = await _server.SendAsync(HttpMethod.Get, "/readyz");
            Assert.Equal("backend_unavailable", await AssertErrorAsync(ready, 503));
            Assert.Contains("audit log was removed", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        finally
        {
            File.Move(log + ".moved", log);
        }

        Assert.Equal(200, (int)(await _server.SendAsync(HttpMethod.Get, "/readyz")).StatusCode);
    }

    [Fact]
    public async Task An_unexpected_exception_is_a_generic_500_whose_body_and_logs_hold_no_exception_text()
    {
        await _server.SendAsync(HttpMethod.Post, "/v0/vault", _key, new { label = "a", value = "v" });
        _server.Backend.Unexpected = new InvalidOperationException("internal detail CANARY-EXCEPTION-TEXT");
        try
        {
            using var read = await _server.SendAsync(HttpMethod.Get, "/v0/vault/a", _key);
            Assert.Equal("error", await AssertErrorAsync(read, 500));
            Assert.DoesNotContain("CANARY-EXCEPTION-TEXT", await read.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.DoesNotContain("InvalidOperationException", await read.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        finally
        {
            _server.Backend.Unexpected = null;
        }

        Assert.Contains(_server.Logs.Lines, l => l.Contains("InvalidOperationException", StringComparison.Ordinal));
        Assert.DoesNotContain(_server.Logs.Lines, l => l.Contains("CANARY-EXCEPTION-TEXT", StringComparison.Ordinal));
    }
}

public sealed class RateLimitTests
{
    [Fact]
    public async Task An_agent_over_its_requests_per_minute_gets_429_with_retry_after_and_other_agents_do_not()
    {
        await using var server = await StartAsync(o => o.AgentRequestsPerMinute = 3);
        var busy = await server.CreateAgentAsync("busy");
        var calm = await server.CreateAgentAsync("calm");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(200, (int)(await server.SendAsync(HttpMethod.Get, "/v0/vault", busy)).StatusCode);
        }

        using var limited = await server.SendAsync(HttpMethod.Get, "/v0/vault", busy);
        Assert.Equal("rate_limited", await AssertErrorAsync(limited, 429));
        Assert.InRange(limited.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 60);
        Assert.Equal(200, (int)(await server.SendAsync(HttpMethod.Get, "/v0/vault", calm)).StatusCode);
    }

    [Fact]
    public async Task A_client_address_with_too_many_failed_authentications_gets_429_even_with_a_valid_key()
    {
        await using var server = await StartAsync(o => o.FailedAuthenticationsPerMinute = 2);
        var key = await server.CreateAgentAsync("victim");
        Assert.Equal(401, (int)(await server.SendAsync(HttpMethod.Get, "/v0/vault", key + "1")).StatusCode);
        Assert.Equal(401, (int)(await server.SendAsync(HttpMethod.Get, "/v0/vault", key + "2")).StatusCode);

        using var guessing = await server.SendAsync(HttpMethod.Get, "/v0/vault", key + "3");
        Assert.Equal("rate_limited", await AssertErrorAsync(guessing, 429));
        Assert.NotNull(guessing.Headers.RetryAfter);
        Assert.Equal(429, (int)(await server.SendAsync(HttpMethod.Get, "/v0/vault", key)).StatusCode);
        Assert.Equal(200, (int)(await server.SendAsync(HttpMethod.Get, "/healthz")).StatusCode);
    }

    [Fact]
    public async Task A_readsPerMinute_policy_rule_is_429_with_retry_after()
    {
        await using var server = await StartAsync();
        var key = await server.CreateAgentAsync("metered", new
        {
            rules = new object[]
            {
                new { labels = "*", operations = new[] { "write" } },
                new { labels = "*", operations = new[] { "read" }, readsPerMinute = 1 },
            },
        });
        await server.SendAsync(HttpMethod.Post, "/v0/vault", key, new { label = "a", value = "v" });
        Assert.Equal(200, (int)(await server.SendAsync(HttpMethod.Get, "/v0/vault/a", key)).StatusCode);
        using var limited = await server.SendAsync(HttpMethod.Get, "/v0/vault/a", key);
        Assert.Equal("rate_limited", await AssertErrorAsync(limited, 429));
        Assert.NotNull(limited.Headers.RetryAfter);
    }

    [Fact]
    public async Task Invalid_server_options_fail_at_start_with_every_problem_named()
    {
        var e = await Assert.ThrowsAsync<AgentScopeException>(() => StartAsync(o =>
        {
            o.AgentRequestsPerMinute = -1;
            o.MaxRequestBodyBytes = 10;
        }));
        Assert.Contains("AgentRequestsPerMinute", e.Message, StringComparison.Ordinal);
        Assert.Contains("MaxRequestBodyBytes", e.Message, StringComparison.Ordinal);
    }
}
