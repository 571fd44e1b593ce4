using System.Text.Json.Nodes;
using static AgentScope.Server.Tests.TestServer;

namespace AgentScope.Server.Tests;

public sealed class AdminApiTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private Task<HttpResponseMessage> Admin(HttpMethod method, string path, object? json = null) => _server.SendAsync(method, path, _server.AdminKey, json);

    [Fact]
    public async Task Creating_an_agent_answers_201_with_its_id_and_key_and_the_agent_can_be_listed_and_shown()
    {
        using var created = await Admin(HttpMethod.Post, "/v0/agents", new { id = "support-bot", name = "Support bot" });
        Assert.Equal(201, (int)created.StatusCode);
        Assert.Equal("/v0/agents/support-bot", created.Headers.Location?.OriginalString);
        var body = await ReadJsonAsync(created);
        Assert.Equal("support-bot", body["id"]!.GetValue<string>());
        Assert.StartsWith("ask_support-bot_", body["apiKey"]!.GetValue<string>(), StringComparison.Ordinal);

        using var list = await Admin(HttpMethod.Get, "/v0/agents");
        var agents = (await ReadJsonAsync(list))["agents"]!.AsArray();
        Assert.Equal("support-bot", Assert.Single(agents)!["id"]!.GetValue<string>());

        using var shown = await Admin(HttpMethod.Get, "/v0/agents/support-bot");
        var agent = await ReadJsonAsync(shown);
        Assert.Equal("Support bot", agent["name"]!.GetValue<string>());
        Assert.Equal("active", agent["status"]!.GetValue<string>());
        Assert.Single(agent["keys"]!.AsArray());
        Assert.Equal("*", agent["policy"]!["rules"]![0]!["labels"]!.GetValue<string>());
        Assert.DoesNotContain(body["apiKey"]!.GetValue<string>(), agent.ToJsonString(), StringComparison.Ordinal);

        Assert.Equal("invalid_input", await AssertErrorAsync(await Admin(HttpMethod.Post, "/v0/agents", new { id = "Bad_Id" }), 400));
        Assert.Equal("invalid_input", await AssertErrorAsync(await Admin(HttpMethod.Get, "/v0/agents/Bad_Id"), 400));
        Assert.Equal("invalid_input", await AssertErrorAsync(await Admin(HttpMethod.Post, "/v0/agents", new { id = "x", policy = new { rules = new[] { new { labels = "*", operations = new[] { "fly" } } } } }), 400));
    }

    [Fact]
    public async Task A_new_policy_applies_to_the_next_request()
    {
        var key = await _server.CreateAgentAsync("bot");
        Assert.Equal(201, (int)(await _server.SendAsync(HttpMethod.Post, "/v0/vault", key, new { label = "a", value = "v" })).StatusCode);

        using var set = await Admin(HttpMethod.Put, "/v0/agents/bot/policy", new { rules = new[] { new { labels = "*", operations = new[] { "read" } } } });
        Assert.Equal(200, (int)set.StatusCode);
        Assert.Equal("read", (await ReadJsonAsync(set))["policy"]!["rules"]![0]!["operations"]![0]!.GetValue<string>());

        Assert.Equal("access_denied", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Post, "/v0/vault", key, new { label = "a", value = "w" }), 403));
        Assert.Equal(200, (int)(await _server.SendAsync(HttpMethod.Get, "/v0/vault/a", key)).StatusCode);
        Assert.Equal("invalid_input", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Put, "/v0/agents/bot/policy", _server.AdminKey, raw: "{\"rules\":[],\"extra\":true}"), 400));
        Assert.Equal("not_found", await AssertErrorAsync(await Admin(HttpMethod.Put, "/v0/agents/nobody/policy", new { rules = Array.Empty<object>() }), 404));
    }

    [Fact]
    public async Task Rotating_a_key_issues_a_new_one_and_the_old_one_ends_after_the_grace()
    {
        var old = await _server.CreateAgentAsync("bot");
        using var kept = await _server.SendAsync(HttpMethod.Post, "/v0/agents/bot/keys", _server.AdminKey); // no body: default grace (1 h)
        Assert.Equal(200, (int)kept.StatusCode);
        var second = (await ReadJsonAsync(kept))["apiKey"]!.GetValue<string>();
        Assert.Equal(200, (int)(await _server.SendAsync(HttpMethod.Get, "/v0/vault", old)).StatusCode);
        Assert.Equal(200, (int)(await _server.SendAsync(HttpMethod.Get, "/v0/vault", second)).StatusCode);

        using var now = await Admin(HttpMethod.Post, "/v0/agents/bot/keys", new { graceSeconds = 0 });
        var third = (await ReadJsonAsync(now))["apiKey"]!.GetValue<string>();
        Assert.Equal("unauthenticated", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Get, "/v0/vault", old), 401));
        Assert.Equal("unauthenticated", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Get, "/v0/vault", second), 401));
        Assert.Equal(200, (int)(await _server.SendAsync(HttpMethod.Get, "/v0/vault", third)).StatusCode);

        Assert.Equal("invalid_input", await AssertErrorAsync(await Admin(HttpMethod.Post, "/v0/agents/bot/keys", new { graceSeconds = -1 }), 400));
        Assert.Equal("invalid_input", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Post, "/v0/agents/bot/keys", _server.AdminKey, raw: "{\"graceSeconds\":\"60\"}"), 400));
    }

    [Fact]
    public async Task Revoking_destroys_every_secret_and_the_key_fails_on_the_very_next_request()
    {
        var key = await _server.CreateAgentAsync("doomed");
        for (var i = 0; i < 3; i++)
        {
            await _server.SendAsync(HttpMethod.Post, "/v0/vault", key, new { label = "s" + i, value = "v" + i });
        }

        Assert.Equal(200, (int)(await _server.SendAsync(HttpMethod.Get, "/v0/vault/s0", key)).StatusCode); // identity now cached
        using var revoked = await Admin(HttpMethod.Delete, "/v0/agents/doomed");
        Assert.Equal(200, (int)revoked.StatusCode);
        var body = await ReadJsonAsync(revoked);
        Assert.Equal(3, body["destroyed"]!.GetValue<int>());
        Assert.Equal("doomed", body["id"]!.GetValue<string>());

        Assert.Equal("agent_revoked", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Get, "/v0/vault/s0", key), 403));
        Assert.Equal("revoked", (await ReadJsonAsync(await Admin(HttpMethod.Get, "/v0/agents/doomed")))["status"]!.GetValue<string>());
        Assert.Equal("conflict", await AssertErrorAsync(await Admin(HttpMethod.Delete, "/v0/agents/doomed"), 409));
        Assert.Equal("not_found", await AssertErrorAsync(await Admin(HttpMethod.Delete, "/v0/agents/nobody"), 404));
    }

    [Fact]
    public async Task A_sweep_reports_in_a_dry_run_and_with_no_body()
    {
        using var dry = await Admin(HttpMethod.Post, "/v0/sweep", new { dryRun = true });
        Assert.Equal(200, (int)dry.StatusCode);
        var report = await ReadJsonAsync(dry);
        Assert.True(report["dryRun"]!.GetValue<bool>());
        Assert.Equal(0, report["orphansFound"]!.GetValue<int>());
        Assert.Empty(report["revokesFinished"]!.AsArray());

        using var real = await _server.SendAsync(HttpMethod.Post, "/v0/sweep", _server.AdminKey);
        Assert.False((await ReadJsonAsync(real))["dryRun"]!.GetValue<bool>());
        Assert.Equal("invalid_input", await AssertErrorAsync(await Admin(HttpMethod.Post, "/v0/sweep", new { dryRun = "yes" }), 400));
    }

    [Fact]
    public async Task The_audit_trail_is_filtered_and_limited_and_never_holds_a_value()
    {
        var key = await _server.CreateAgentAsync("audited");
        await _server.SendAsync(HttpMethod.Post, "/v0/vault", key, new { label = "stripe", value = "sk_live_audit_canary" });
        await _server.SendAsync(HttpMethod.Get, "/v0/vault/stripe", key);
        await _server.SendAsync(HttpMethod.Get, "/v0/vault/missing", key);

        using var all = await Admin(HttpMethod.Get, "/v0/audit?agent=audited");
        var text = await all.Content.ReadAsStringAsync();
        Assert.DoesNotContain("sk_live_audit_canary", text, StringComparison.Ordinal);
        var events = JsonNode.Parse(text)!["events"]!.AsArray();
        Assert.Equal(["agent.create", "write", "read", "read"], events.Select(e => e!["action"]!.GetValue<string>()));
        Assert.NotNull(events[1]!["fingerprint"]);

        using var filtered = await Admin(HttpMethod.Get, "/v0/audit?agent=audited&label=missing&outcome=not_found");
        Assert.Single((await ReadJsonAsync(filtered))["events"]!.AsArray());
        using var limited = await Admin(HttpMethod.Get, "/v0/audit?agent=audited&limit=1");
        Assert.Equal("read", Assert.Single((await ReadJsonAsync(limited))["events"]!.AsArray())!["action"]!.GetValue<string>()); // the newest
        using var future = await Admin(HttpMethod.Get, $"/v0/audit?since={DateTimeOffset.UtcNow.AddHours(1):O}".Replace("+", "%2B", StringComparison.Ordinal));
        Assert.Empty((await ReadJsonAsync(future))["events"]!.AsArray());

        foreach (var bad in new[] { "limit=0", "limit=x", "since=yesterday", "agent=Bad_Id", "label=a%2Fb", "action=a%20b" })
        {
            Assert.Equal("invalid_input", await AssertErrorAsync(await Admin(HttpMethod.Get, "/v0/audit?" + bad), 400));
        }
    }

    [Fact]
    public async Task The_audit_trail_pages_forward_by_seq_until_next_is_null()
    {
        var key = await _server.CreateAgentAsync("pager");
        for (var i = 0; i < 7; i++)
        {
            await _server.SendAsync(HttpMethod.Post, "/v0/vault", key, new { label = $"label-{i}", value = "v" });
        }

        var all = await AuditPaging.ReadAllAsync(_server, "agent=pager", pageSize: 3);
        Assert.Equal(3, all.Pages); // 8 events (agent.create + 7 writes) in pages of 3, 3 and 2: next is null on the last one
        Assert.Equal(["agent.create", .. Enumerable.Repeat("write", 7)], all.Events.Select(e => e["action"]!.GetValue<string>()));
        var seqs = all.Events.Select(e => e["seq"]!.GetValue<long>()).ToList();
        Assert.Equal(seqs.Order().Distinct(), seqs); // ascending, no repeats

        // Events appended after the last page are found from its last seq.
        await _server.SendAsync(HttpMethod.Get, "/v0/vault/label-0", key);
        using var tail = await Admin(HttpMethod.Get, $"/v0/audit?agent=pager&after={seqs[^1]}");
        var tailBody = await ReadJsonAsync(tail);
        Assert.Equal("read", Assert.Single(tailBody["events"]!.AsArray())!["action"]!.GetValue<string>());
        Assert.Null(tailBody["next"]);

        // Filters apply within the pages; without after, the newest events come back and next is null.
        var writes = await AuditPaging.ReadAllAsync(_server, "agent=pager&action=write&since=2000-01-01T00:00:00Z", pageSize: 2);
        Assert.Equal(7, writes.Events.Count);
        using var newest = await Admin(HttpMethod.Get, "/v0/audit?agent=pager&limit=2");
        var newestText = await newest.Content.ReadAsStringAsync();
        Assert.Contains("\"next\":null", newestText, StringComparison.Ordinal);
        Assert.Equal(["write", "read"], JsonNode.Parse(newestText)!["events"]!.AsArray().Select(e => e!["action"]!.GetValue<string>()));

        foreach (var bad in new[] { "after=-1", "after=x", "after=1.5", "after=" })
        {
            Assert.Equal("invalid_input", await AssertErrorAsync(await Admin(HttpMethod.Get, "/v0/audit?" + bad), 400));
        }
    }

    [Fact]
    public async Task Health_endpoints_need_no_key()
    {
        using var live = await _server.SendAsync(HttpMethod.Get, "/healthz");
        Assert.Equal("ok", (await ReadJsonAsync(live))["status"]!.GetValue<string>());
        using var ready = await _server.SendAsync(HttpMethod.Get, "/readyz");
        Assert.Equal("ready", (await ReadJsonAsync(ready))["status"]!.GetValue<string>());
    }
}
