using System.Diagnostics;
using System.Text.Json.Nodes;
using AgentScope.Audit;
using AgentScope.Client;
using AgentScope.Injection;
using AgentScope.Testing;
using Microsoft.Extensions.DependencyInjection;
using static AgentScope.Server.Tests.TestServer;

namespace AgentScope.Server.Tests;

/// <summary>
/// The typed client's injection and reveal calls (<see cref="AgentScopeClient.RequestAsync"/>,
/// <see cref="AgentScopeClient.RevealToModelAsync"/>, <see cref="AgentScopeClient.WithContext"/>) against the real server,
/// whose injection timeout is cut to one second.
/// </summary>
public sealed class ClientRequestTests : IAsyncLifetime
{
    private const string Canary = "sk_live 9+/=\"q'<&>\\ab%41~client-Canary-8Hn";

    private const string Policy = """
        {"rules": [
          {"labels": "*", "operations": ["read", "write", "delete", "list", "totp"]},
          {"labels": "stripe", "operations": ["use"], "allowedHosts": ["127.0.0.1"], "allowHttpLoopback": true},
          {"labels": "public-*", "operations": ["read"], "reveal": true}
        ]}
        """;

    private TestServer _server = null!;
    private EchoUpstream _upstream = null!;
    private ServiceProvider _services = null!;
    private AgentScopeClient _client = null!;

    public async Task InitializeAsync()
    {
        _upstream = await EchoUpstream.StartAsync();
        _server = await StartAsync(services: s => s.AddAgentScopeInjection(o => o.Timeout = TimeSpan.FromSeconds(1)));
        var key = await _server.CreateAgentAsync("client-bot", JsonNode.Parse(Policy));
        _services = Client(key);
        _client = _services.GetRequiredService<AgentScopeClient>();
        await _client.StoreAsync("stripe", new SecretValue(Canary));
        await _client.StoreAsync("public-config", new SecretValue("visible-value"), new StoreOptions { ExpiresAt = DateTimeOffset.UtcNow.AddDays(1) });
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _server.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private ServiceProvider Client(string key, TimeSpan? requestTimeout = null)
    {
        var services = new ServiceCollection();
        services.AddAgentScopeClient(o =>
        {
            o.Endpoint = _server.Client.BaseAddress;
            o.ApiKey = key;
            o.RetryDelay = TimeSpan.FromMilliseconds(10);
            o.RequestTimeout = requestTimeout ?? o.RequestTimeout;
        });
        return services.BuildServiceProvider();
    }

    private static InjectedRequest Request(string url, string label = "stripe") =>
        new() { Url = url, Headers = new Dictionary<string, string> { ["Authorization"] = "Bearer {{secret:" + label + "}}" } };

    private async Task<List<AuditEvent>> AuditAsync()
    {
        var events = new List<AuditEvent>();
        await foreach (var e in _server.Services.GetRequiredService<IAuditTrail>().QueryAsync(new AuditQuery { AgentId = "client-bot", Limit = 10_000 }))
        {
            events.Add(e);
        }

        return events;
    }

    [Fact]
    public async Task Request_returns_the_scrubbed_response_while_the_upstream_gets_the_value()
    {
        var response = await _client.RequestAsync(new InjectedRequest
        {
            Method = "POST",
            Url = _upstream.Url("/echo"),
            Headers = new Dictionary<string, string> { ["Authorization"] = "Bearer {{secret:stripe}}", ["Content-Type"] = "application/json" },
            Body = "{\"key\":\"{{secret:stripe}}\"}",
        });

        Assert.Equal(200, response.Status);
        Assert.False(response.Truncated);
        var received = Assert.Single(_upstream.Received);
        Assert.Equal("Bearer " + Canary, received.Headers["Authorization"]);
        Assert.Equal(Canary, JsonNode.Parse(received.Body)!["key"]!.GetValue<string>());
        Assert.Empty(SecretTraces.Find(response.Body, Canary));
        Assert.Empty(SecretTraces.Find(string.Join("\n", response.Headers.Select(h => $"{h.Key}: {h.Value}")), Canary));
        Assert.Equal("Bearer [redacted:stripe]", response.Headers["X-Echo-Authorization"]);
    }

    [Fact]
    public async Task An_upstream_error_status_is_a_response_and_a_refusal_is_a_typed_exception()
    {
        Assert.Equal(500, (await _client.RequestAsync(Request(_upstream.Url("/status?code=500")))).Status);

        var denied = await Assert.ThrowsAsync<AgentScopeException>(() => _client.RequestAsync(Request($"http://localhost:{_upstream.Port}/echo")));
        Assert.Equal(ErrorKind.AccessDenied, denied.Kind);
        var invalid = await Assert.ThrowsAsync<AgentScopeException>(() => _client.RequestAsync(new InjectedRequest { Url = "https://{{secret:stripe}}.example.com/" }));
        Assert.Equal(ErrorKind.InvalidInput, invalid.Kind);
        Assert.Single(_upstream.Received);
    }

    [Fact]
    public async Task An_upstream_that_times_out_is_upstream_failed_and_the_request_is_not_sent_again()
    {
        var error = await Assert.ThrowsAsync<AgentScopeException>(() => _client.RequestAsync(Request(_upstream.Url("/slow?ms=3000"))));
        Assert.Equal(ErrorKind.UpstreamFailed, error.Kind);
        Assert.Contains("timed out", error.Message, StringComparison.Ordinal);
        await Task.Delay(300);
        Assert.Single(_upstream.Received); // a 502 is not retried: the upstream may have acted on the request
    }

    [Fact]
    public async Task No_answer_within_the_request_timeout_is_upstream_failed_and_is_not_retried()
    {
        var key = await _server.CreateAgentAsync("impatient-bot", JsonNode.Parse(Policy));
        await using var services = Client(key, requestTimeout: TimeSpan.FromMilliseconds(300));
        var client = services.GetRequiredService<AgentScopeClient>();
        await client.StoreAsync("stripe", new SecretValue(Canary));

        var started = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<AgentScopeException>(() => client.RequestAsync(Request(_upstream.Url("/slow?ms=800"))));
        Assert.Equal(ErrorKind.UpstreamFailed, error.Kind);
        Assert.Contains("may or may not have reached", error.Message, StringComparison.Ordinal);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), started.Elapsed.ToString());
        await Task.Delay(300);
        Assert.Single(_upstream.Received);
    }

    [Fact]
    public async Task Reveal_to_model_is_refused_without_the_reveal_flag_while_a_plain_get_still_reads()
    {
        var refused = await Assert.ThrowsAsync<AgentScopeException>(() => _client.RevealToModelAsync("stripe"));
        Assert.Equal(ErrorKind.AccessDenied, refused.Kind);
        Assert.Contains("POST /v0/request", refused.Message, StringComparison.Ordinal);
        Assert.Empty(SecretTraces.Find(refused.Message, Canary));

        var revealed = await _client.RevealToModelAsync("public-config");
        Assert.Equal("visible-value", revealed.Value.Reveal());
        Assert.Equal("generic", revealed.Kind);
        Assert.NotNull(revealed.ExpiresAt);

        Assert.Equal(Canary, (await _client.GetAsync("stripe")).Value.Reveal());
        Assert.Contains(await _client.ListAsync(), l => l.Label == "public-config" && l.ExpiresAt is not null);
    }

    [Fact]
    public async Task With_context_sends_the_justification_in_any_language_and_the_request_id()
    {
        var context = new AccessContext { Justification = "remboursement 払い戻し #42", RequestId = "mcp-1a2b3c4d-7" };
        await _client.WithContext(context).RequestAsync(Request(_upstream.Url("/echo")));
        await _client.WithContext(context with { RequestId = "has spaces, so not sent" }).ListAsync();

        var audit = await AuditAsync();
        var used = audit.Where(e => e.RequestId == "mcp-1a2b3c4d-7").ToList();
        Assert.Contains(used, e => e.Action == AuditActions.Request && e.Detail!.EndsWith("-> 200", StringComparison.Ordinal));
        Assert.All(used, e => Assert.Equal("remboursement 払い戻し #42", e.Justification));
        var listed = Assert.Single(audit, e => e.Action == AuditActions.List);
        Assert.Equal("remboursement 払い戻し #42", listed.Justification);
        Assert.NotEqual("has spaces, so not sent", listed.RequestId);

        var invalid = Assert.Throws<AgentScopeException>(() => _client.WithContext(new AccessContext { Justification = "two\nlines" }));
        Assert.Equal(ErrorKind.InvalidInput, invalid.Kind);
    }
}
