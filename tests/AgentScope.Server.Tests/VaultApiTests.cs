using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using static AgentScope.Server.Tests.TestServer;

namespace AgentScope.Server.Tests;

public sealed class VaultApiTests : IAsyncLifetime
{
    private TestServer _server = null!;
    private string _key = null!;

    public async Task InitializeAsync()
    {
        _server = await StartAsync();
        _key = await _server.CreateAgentAsync("support-bot");
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private Task<HttpResponseMessage> Send(HttpMethod method, string path, object? json = null, string? key = null, IDictionary<string, string>? headers = null) =>
        _server.SendAsync(method, path, key ?? _key, json, headers: headers);

    [Fact]
    public async Task A_store_creates_with_201_then_an_overwrite_answers_200_with_the_next_version()
    {
        using var created = await Send(HttpMethod.Post, "/v0/vault", new { label = "stripe-refund", value = "sk_live_1" });
        Assert.Equal(201, (int)created.StatusCode);
        Assert.Equal("/v0/vault/stripe-refund", created.Headers.Location?.OriginalString);
        var body = await ReadJsonAsync(created);
        Assert.Equal("stripe-refund", body["label"]!.GetValue<string>());
        Assert.Equal(1, body["version"]!.GetValue<long>());
        Assert.True(DateTimeOffset.TryParse(body["updatedAt"]!.GetValue<string>(), out _));
        Assert.Equal(3, body.AsObject().Count);

        using var overwritten = await Send(HttpMethod.Post, "/v0/vault", new { label = "stripe-refund", value = "sk_live_2" });
        Assert.Equal(200, (int)overwritten.StatusCode);
        Assert.Equal(2, (await ReadJsonAsync(overwritten))["version"]!.GetValue<long>());

        using var read = await Send(HttpMethod.Get, "/v0/vault/stripe-refund");
        Assert.Equal(200, (int)read.StatusCode);
        var secret = await ReadJsonAsync(read);
        Assert.Equal("sk_live_2", secret["value"]!.GetValue<string>());
        Assert.Equal("generic", secret["kind"]!.GetValue<string>());
        Assert.Equal(2, secret["version"]!.GetValue<long>());
        Assert.Equal("no-store", read.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task The_loomal_style_snippet_works_with_plain_http_calls()
    {
        // requests.post(url, headers={"Authorization": f"Bearer {key}"}, data=json.dumps({...})) then requests.get(...).json()["value"];
        // curl -d sends the same JSON labelled as form data, which is accepted too.
        using var post = new HttpRequestMessage(HttpMethod.Post, "/v0/vault")
        {
            Content = new StringContent("{\"label\":\"openai\",\"value\":\"sk-proj-abc\"}", Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        post.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _key);
        using var stored = await _server.Client.SendAsync(post);
        Assert.Equal(201, (int)stored.StatusCode);

        using var get = new HttpRequestMessage(HttpMethod.Get, "/v0/vault/openai");
        get.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _key);
        using var read = await _server.Client.SendAsync(get);
        Assert.Equal("sk-proj-abc", (await ReadJsonAsync(read))["value"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_listing_shows_labels_and_metadata_but_never_values()
    {
        await Send(HttpMethod.Post, "/v0/vault", new { label = "b-label", value = "value-of-b" });
        await Send(HttpMethod.Post, "/v0/vault", new { label = "a-label", value = "value-of-a" });
        using var list = await Send(HttpMethod.Get, "/v0/vault");
        Assert.Equal(200, (int)list.StatusCode);
        var text = await list.Content.ReadAsStringAsync();
        Assert.DoesNotContain("value-of", text, StringComparison.Ordinal);
        var labels = JsonNode.Parse(text)!["labels"]!.AsArray();
        Assert.Equal(["a-label", "b-label"], labels.Select(l => l!["label"]!.GetValue<string>()));
        Assert.All(labels, l =>
        {
            Assert.Equal("generic", l!["kind"]!.GetValue<string>());
            Assert.Equal(1, l["version"]!.GetValue<long>());
            Assert.NotNull(l["updatedAt"]);
        });
    }

    [Fact]
    public async Task A_delete_answers_204_and_the_label_is_gone()
    {
        await Send(HttpMethod.Post, "/v0/vault", new { label = "temp", value = "v" });
        using var deleted = await Send(HttpMethod.Delete, "/v0/vault/temp");
        Assert.Equal(204, (int)deleted.StatusCode);
        Assert.Equal("not_found", await AssertErrorAsync(await Send(HttpMethod.Get, "/v0/vault/temp"), 404));
        Assert.Equal("not_found", await AssertErrorAsync(await Send(HttpMethod.Delete, "/v0/vault/temp"), 404));
    }

    [Fact]
    public async Task A_totp_label_gives_the_rfc_6238_code_and_never_its_seed()
    {
        const string seed = "JBSWY3DPEHPK3PXP";
        using var stored = await Send(HttpMethod.Post, "/v0/vault", new { label = "github-2fa", value = seed, kind = "totp" });
        Assert.Equal(201, (int)stored.StatusCode);

        var now = DateTimeOffset.UtcNow;
        using var totp = await Send(HttpMethod.Get, "/v0/vault/github-2fa/totp");
        Assert.Equal(200, (int)totp.StatusCode);
        var body = await ReadJsonAsync(totp);
        var remaining = body["remaining"]!.GetValue<int>();
        Assert.InRange(remaining, 1, 30);
        var expected = new[] { -30, 0, 30 }.Select(d => Rfc6238(seed, now.AddSeconds(d))).ToHashSet();
        Assert.Contains(body["code"]!.GetValue<string>(), expected);

        var seedRead = await Send(HttpMethod.Get, "/v0/vault/github-2fa");
        Assert.Equal("access_denied", await AssertErrorAsync(seedRead, 403));

        await Send(HttpMethod.Post, "/v0/vault", new { label = "plain", value = "v" });
        Assert.Equal("invalid_input", await AssertErrorAsync(await Send(HttpMethod.Get, "/v0/vault/plain/totp"), 400));
        Assert.Equal("invalid_input", await AssertErrorAsync(await Send(HttpMethod.Post, "/v0/vault", new { label = "bad-seed", value = "not base32!", kind = "totp" }), 400));
    }

    [Fact]
    public async Task A_batch_read_returns_allowed_values_and_an_error_for_each_other_label()
    {
        var key = await _server.CreateAgentAsync("loader", new
        {
            rules = new object[]
            {
                new { labels = "*", operations = new[] { "read", "write" } },
                new { labels = "hidden-*", effect = "Deny", operations = new[] { "read" } },
            },
        });
        await Send(HttpMethod.Post, "/v0/vault", new { label = "db-url", value = "postgres://x" }, key);
        await Send(HttpMethod.Post, "/v0/vault", new { label = "hidden-one", value = "h" }, key);

        using var batch = await Send(HttpMethod.Post, "/v0/vault/batch-get", new { labels = new[] { "db-url", "missing", "hidden-one", "bad/label" } }, key);
        Assert.Equal(200, (int)batch.StatusCode);
        var body = await ReadJsonAsync(batch);
        var value = Assert.Single(body["values"]!.AsArray());
        Assert.Equal("db-url", value!["label"]!.GetValue<string>());
        Assert.Equal("postgres://x", value["value"]!.GetValue<string>());
        var errors = body["errors"]!.AsArray().ToDictionary(e => e!["label"]!.GetValue<string>(), e => e!["error"]!["code"]!.GetValue<string>());
        Assert.Equal(new Dictionary<string, string> { ["missing"] = "not_found", ["hidden-one"] = "access_denied", ["bad/label"] = "invalid_input" }, errors);

        Assert.Equal("invalid_input", await AssertErrorAsync(await Send(HttpMethod.Post, "/v0/vault/batch-get", new { labels = Array.Empty<string>() }, key), 400));
        Assert.Equal("invalid_input", await AssertErrorAsync(await _server.SendAsync(HttpMethod.Post, "/v0/vault/batch-get", key, raw: "{\"labels\":[\"a\",null]}"), 400));
    }

    [Fact]
    public async Task A_batch_read_without_labels_reads_every_generic_label_the_agent_may_list_and_skips_totp()
    {
        var key = await _server.CreateAgentAsync("config-loader", new
        {
            rules = new object[]
            {
                new { labels = "*", operations = new[] { "read", "write", "list", "totp" } },
                new { labels = "unlisted-*", effect = "Deny", operations = new[] { "list" } },
                new { labels = "listed-only", effect = "Deny", operations = new[] { "read" } },
            },
        });
        foreach (var (label, value) in new[] { ("db-url", "postgres://db"), ("api-key", "sk_1"), ("unlisted-one", "u"), ("listed-only", "l") })
        {
            await Send(HttpMethod.Post, "/v0/vault", new { label, value }, key);
        }

        await Send(HttpMethod.Post, "/v0/vault", new { label = "github-2fa", value = "JBSWY3DPEHPK3PXP", kind = "totp" }, key);
        await Send(HttpMethod.Post, "/v0/vault", new { label = "db-url", value = "not-this-agents" }); // another agent's label of the same name

        foreach (var body in new[] { "{}", "{\"labels\":null}", "" })
        {
            using var batch = await _server.SendAsync(HttpMethod.Post, "/v0/vault/batch-get", key, raw: body);
            Assert.Equal(200, (int)batch.StatusCode);
            var result = await ReadJsonAsync(batch);
            Assert.Equal([("api-key", "sk_1"), ("db-url", "postgres://db")],
                result["values"]!.AsArray().Select(v => (v!["label"]!.GetValue<string>(), v["value"]!.GetValue<string>())));
            var error = Assert.Single(result["errors"]!.AsArray());
            Assert.Equal(("listed-only", "access_denied"), (error!["label"]!.GetValue<string>(), error["error"]!["code"]!.GetValue<string>()));
        }

        // One audited list, then one audited read per label: the TOTP seed was never asked for.
        using var audit = await _server.SendAsync(HttpMethod.Get, "/v0/audit?agent=config-loader&limit=4", _server.AdminKey);
        var events = (await ReadJsonAsync(audit))["events"]!.AsArray();
        Assert.DoesNotContain(events, e => e!["label"]?.GetValue<string>() == "github-2fa");
    }

    [Fact]
    public async Task A_batch_read_without_labels_is_refused_beyond_its_cap()
    {
        await using var server = await StartAsync(o => o.MaxBatchReadAllLabels = 3);
        var key = await server.CreateAgentAsync("hoarder");
        for (var i = 0; i < 4; i++)
        {
            await server.SendAsync(HttpMethod.Post, "/v0/vault", key, new { label = $"l{i}", value = "v" });
        }

        using var refused = await server.SendAsync(HttpMethod.Post, "/v0/vault/batch-get", key, raw: "{}");
        Assert.Equal("invalid_input", await AssertErrorAsync(refused, 400));
        Assert.Contains("4 labels, more than the 3", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await server.SendAsync(HttpMethod.Delete, "/v0/vault/l3", key);
        using var ok = await server.SendAsync(HttpMethod.Post, "/v0/vault/batch-get", key, raw: "{}");
        Assert.Equal(3, (await ReadJsonAsync(ok))["values"]!.AsArray().Count);
    }

    [Fact]
    public async Task A_justification_header_is_recorded_and_a_rule_can_require_it()
    {
        var key = await _server.CreateAgentAsync("careful", new
        {
            rules = new object[]
            {
                new { labels = "*", operations = new[] { "write", "list" } },
                new { labels = "prod-*", operations = new[] { "read" }, requireJustification = true },
            },
        });
        await Send(HttpMethod.Post, "/v0/vault", new { label = "prod-db", value = "v" }, key);

        Assert.Equal("access_denied", await AssertErrorAsync(await Send(HttpMethod.Get, "/v0/vault/prod-db", key: key), 403));
        var headers = new Dictionary<string, string> { ["X-AgentScope-Justification"] = "ticket OPS-42", ["X-Request-Id"] = "trace-123" };
        using var read = await Send(HttpMethod.Get, "/v0/vault/prod-db", key: key, headers: headers);
        Assert.Equal(200, (int)read.StatusCode);
        Assert.Equal("trace-123", read.Headers.GetValues("X-Request-Id").Single());

        using var audit = await _server.SendAsync(HttpMethod.Get, "/v0/audit?agent=careful&action=read&outcome=ok", _server.AdminKey);
        var e = Assert.Single((await ReadJsonAsync(audit))["events"]!.AsArray());
        Assert.Equal("ticket OPS-42", e!["justification"]!.GetValue<string>());
        Assert.Equal("trace-123", e["requestId"]!.GetValue<string>());

        var tooLong = new Dictionary<string, string> { ["X-AgentScope-Justification"] = new string('j', 1001) };
        Assert.Equal("invalid_input", await AssertErrorAsync(await Send(HttpMethod.Get, "/v0/vault/prod-db", key: key, headers: tooLong), 400));
    }

    [Fact]
    public async Task Two_agents_cannot_reach_each_others_labels_whatever_the_path()
    {
        var other = await _server.CreateAgentAsync("other-bot");
        await Send(HttpMethod.Post, "/v0/vault", new { label = "mine", value = "only-support-bot" });

        Assert.Equal("not_found", await AssertErrorAsync(await Send(HttpMethod.Get, "/v0/vault/mine", key: other), 404));
        Assert.Equal("not_found", await AssertErrorAsync(await Send(HttpMethod.Delete, "/v0/vault/mine", key: other), 404));
        using var list = await Send(HttpMethod.Get, "/v0/vault", key: other);
        Assert.Empty((await ReadJsonAsync(list))["labels"]!.AsArray());
        foreach (var path in new[] { "/v0/vault/support-bot%2Fmine", "/v0/vault/..%2Fsupport-bot%2Fmine", "/v0/vault/_registry%2Fagent.support-bot" })
        {
            using var response = await Send(HttpMethod.Get, path, key: other);
            Assert.InRange((int)response.StatusCode, 400, 404);
            Assert.DoesNotContain("only-support-bot", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The owner still reads it, and the other agent's own label of the same name is its own.
        await Send(HttpMethod.Post, "/v0/vault", new { label = "mine", value = "only-other-bot" }, other);
        Assert.Equal("only-support-bot", (await ReadJsonAsync(await Send(HttpMethod.Get, "/v0/vault/mine")))["value"]!.GetValue<string>());
        Assert.Equal("only-other-bot", (await ReadJsonAsync(await Send(HttpMethod.Get, "/v0/vault/mine", key: other)))["value"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_expired_label_reads_as_not_found_and_a_past_expiry_is_refused()
    {
        Assert.Equal("invalid_input", await AssertErrorAsync(
            await Send(HttpMethod.Post, "/v0/vault", new { label = "old", value = "v", expiresAt = DateTimeOffset.UtcNow.AddMinutes(-1) }), 400));
        using var stored = await Send(HttpMethod.Post, "/v0/vault", new { label = "soon", value = "v", expiresAt = DateTimeOffset.UtcNow.AddHours(1) });
        Assert.Equal(201, (int)stored.StatusCode);
        Assert.NotNull((await ReadJsonAsync(await Send(HttpMethod.Get, "/v0/vault/soon")))["expiresAt"]);
    }

    private static string Rfc6238(string base32, DateTimeOffset at)
    {
        var key = Base32(base32);
        var counter = BitConverter.GetBytes(at.ToUnixTimeSeconds() / 30);
        if (BitConverter.IsLittleEndian)
        {
            Array.Reverse(counter);
        }

        var hash = HMACSHA1.HashData(key, counter);
        var offset = hash[^1] & 0x0f;
        var binary = ((hash[offset] & 0x7f) << 24) | (hash[offset + 1] << 16) | (hash[offset + 2] << 8) | hash[offset + 3];
        return (binary % 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static byte[] Base32(string s)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var bits = 0;
        var value = 0;
        var output = new List<byte>();
        foreach (var c in s)
        {
            value = (value << 5) | alphabet.IndexOf(c, StringComparison.Ordinal);
            bits += 5;
            if (bits >= 8)
            {
                output.Add((byte)(value >> (bits - 8)));
                bits -= 8;
            }
        }

        return [.. output];
    }
}
