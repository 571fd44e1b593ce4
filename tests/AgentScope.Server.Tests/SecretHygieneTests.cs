using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using static AgentScope.Server.Tests.TestServer;

namespace AgentScope.Server.Tests;

public sealed class SecretHygieneTests
{
    [Fact]
    public async Task Neither_a_value_nor_a_key_appears_in_any_log_line_or_error_body()
    {
        await using var server = await StartAsync(o => o.FailedAuthenticationsPerMinute = 1000);
        var canary = "rk_live_canary_" + Guid.NewGuid().ToString("N");
        var key = await server.CreateAgentAsync("support-bot");
        var other = await server.CreateAgentAsync("other-bot");
        var bodies = new List<string>();

        async Task Call(HttpMethod method, string path, string? k, object? json = null, string? raw = null, Dictionary<string, string>? headers = null)
        {
            using var response = await server.SendAsync(method, path, k, json, raw, headers);
            var text = await response.Content.ReadAsStringAsync();
            if ((int)response.StatusCode >= 400)
            {
                bodies.Add(text);
            }
        }

        await Call(HttpMethod.Post, "/v0/vault", key, new { label = "stripe", value = canary });
        await Call(HttpMethod.Post, "/v0/vault", key, new { label = "stripe", value = canary + "-2" });
        await Call(HttpMethod.Get, "/v0/vault/stripe", key);
        await Call(HttpMethod.Post, "/v0/vault/batch-get", key, new { labels = new[] { "stripe", "nope" } });
        await Call(HttpMethod.Get, "/v0/vault/stripe", other);
        await Call(HttpMethod.Get, "/v0/vault/stripe", server.AdminKey);
        await Call(HttpMethod.Get, "/v0/agents", key);
        await Call(HttpMethod.Get, "/v0/vault/stripe", key + "wrong");
        await Call(HttpMethod.Post, "/v0/vault", key, raw: "{\"label\":\"x\",\"value\":\"" + canary + "\",\"unknown\":1}");
        await Call(HttpMethod.Post, "/v0/vault", key, raw: "{\"label\":\"x\",\"value\":\"" + canary + "\"");
        await Call(HttpMethod.Post, "/v0/vault", key, raw: "{\"label\":\"x\",\"value\":\"" + canary + "\",\"kind\":7}");
        await Call(HttpMethod.Post, "/v0/vault", key, raw: "{\"label\":\"x\",\"value\":\"" + canary + "\",\"kind\":\"totp\"}");
        await Call(HttpMethod.Post, "/v0/vault", key, raw: "{\"label\":\"x\",\"value\":\"" + canary + new string('x', 70_000) + "\"}");
        await Call(HttpMethod.Post, "/v0/vault", key, raw: "{\"label\":\"x\",\"" + canary + "\":1}");
        await Call(HttpMethod.Get, "/v0/vault/stripe", key, headers: new() { ["X-AgentScope-Justification"] = "why not" });
        await Call(HttpMethod.Post, "/v0/agents/support-bot/keys", server.AdminKey, new { graceSeconds = 0 });
        await Call(HttpMethod.Get, "/v0/audit", server.AdminKey);
        await Call(HttpMethod.Delete, "/v0/agents/support-bot", server.AdminKey);
        await Call(HttpMethod.Get, "/v0/vault/stripe", key);
        server.Backend.Unavailable = true;
        await Call(HttpMethod.Get, "/v0/vault/stripe", other);
        server.Backend.Unavailable = false;
        await server.DisposeAsync(); // flush everything the host logs at shutdown too

        Assert.NotEmpty(server.Logs.Lines);
        foreach (var secret in new[] { canary, key, other, server.AdminKey })
        {
            Assert.DoesNotContain(server.Logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(bodies, b => b.Contains(secret, StringComparison.Ordinal));
        }

        Assert.DoesNotContain(server.Logs.Lines, l => l.Contains("Bearer", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs.Lines, l => l.Contains(key.Split('_')[3], StringComparison.Ordinal)); // not even the secret part
    }

    [Fact]
    public async Task The_openapi_document_lists_every_route_with_its_methods()
    {
        await using var server = await StartAsync();
        using var response = await server.SendAsync(HttpMethod.Get, "/openapi/v1.json");
        Assert.Equal(200, (int)response.StatusCode);
        var paths = (await ReadJsonAsync(response))["paths"]!.AsObject();

        var routes = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } p && !p.StartsWith("/openapi", StringComparison.Ordinal))
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (Path: e.RoutePattern.RawText!.TrimEnd('/'), Method: m)))
            .ToList();
        Assert.True(routes.Count == 17, string.Join("; ", routes));
        foreach (var (path, method) in routes)
        {
            Assert.True(paths.ContainsKey(path), $"{path} missing from the OpenAPI document");
            Assert.True(paths[path]!.AsObject().ContainsKey(method.ToLowerInvariant()), $"{method} {path} missing from the OpenAPI document");
        }

        string[] expected =
        [
            "POST /v0/vault", "GET /v0/vault", "POST /v0/vault/batch-get", "GET /v0/vault/{label}", "DELETE /v0/vault/{label}",
            "GET /v0/vault/{label}/totp", "POST /v0/request", "POST /v0/agents", "GET /v0/agents", "GET /v0/agents/{id}", "PUT /v0/agents/{id}/policy",
            "POST /v0/agents/{id}/keys", "DELETE /v0/agents/{id}", "POST /v0/sweep", "GET /v0/audit", "GET /healthz", "GET /readyz",
        ];
        Assert.Equal(expected.Order(), routes.Select(r => $"{r.Method} {r.Path}").Order());
        Assert.NotNull(paths["/v0/vault"]!["post"]!["requestBody"]);
        Assert.NotNull(paths["/v0/request"]!["post"]!["requestBody"]);
        Assert.Contains(paths["/v0/vault/{label}"]!["get"]!["parameters"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "X-AgentScope-Reveal-To");

        // The paging parameter and cursor of the audit query, and the optional labels of a batch read.
        var document = await ReadJsonAsync(await server.SendAsync(HttpMethod.Get, "/openapi/v1.json"));
        var auditParameters = paths["/v0/audit"]!["get"]!["parameters"]!.AsArray().ToDictionary(p => p!["name"]!.GetValue<string>());
        Assert.Equal(["agent", "label", "action", "outcome", "since", "until", "limit", "after"], auditParameters.Keys);
        Assert.Contains("seq", auditParameters["after"]!["description"]!.GetValue<string>(), StringComparison.Ordinal);
        var schemas = document["components"]!["schemas"]!;
        Assert.NotNull(schemas["AuditEventsResponse"]!["properties"]!["next"]);
        Assert.NotNull(schemas["AuditEvent"]!["properties"]!["seq"]);
        var batchBody = paths["/v0/vault/batch-get"]!["post"]!["requestBody"]!;
        Assert.False(batchBody["required"]?.GetValue<bool>() ?? false);
        var batchSchema = batchBody["content"]!["application/json"]!["schema"]!;
        Assert.DoesNotContain("labels", batchSchema["required"]?.AsArray().Select(r => r!.GetValue<string>()) ?? []);
        Assert.Contains("every generic label", batchSchema["properties"]!["labels"]!["description"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
