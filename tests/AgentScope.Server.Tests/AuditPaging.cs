using System.Text.Json.Nodes;

namespace AgentScope.Server.Tests;

/// <summary>A client of <c>GET /v0/audit</c> paging forward: <c>after=0</c>, then each page's <c>next</c> until it is null.</summary>
public static class AuditPaging
{
    public static async Task<(List<JsonNode> Events, int Pages)> ReadAllAsync(TestServer server, string filters, int pageSize)
    {
        var events = new List<JsonNode>();
        long? after = 0;
        var pages = 0;
        while (after is { } cursor)
        {
            using var response = await server.SendAsync(HttpMethod.Get, $"/v0/audit?{filters}&limit={pageSize}&after={cursor}", server.AdminKey);
            Assert.Equal(200, (int)response.StatusCode);
            var body = await TestServer.ReadJsonAsync(response);
            Assert.True(body.AsObject().ContainsKey("next"), "next is always present, null at the end");
            var page = body["events"]!.AsArray().Select(e => e!).ToList();
            Assert.InRange(page.Count, 0, pageSize);
            Assert.All(page, e => Assert.True(e["seq"]!.GetValue<long>() > cursor));
            events.AddRange(page.Select(e => e.DeepClone()));
            after = body["next"]?.GetValue<long>();
            if (after is not null)
            {
                Assert.Equal(pageSize, page.Count);
                Assert.Equal(page[^1]["seq"]!.GetValue<long>(), after);
            }

            pages++;
            Assert.True(pages < 1000, "paging does not end");
        }

        return (events, pages);
    }
}
