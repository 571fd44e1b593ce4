using System.Globalization;
using AgentScope.Audit;
using AgentScope.Audit.PostgreSql;
using AgentScope.Audit.PostgreSql.Tests;
using AgentScope.Backends;
using Microsoft.Extensions.DependencyInjection;
using static AgentScope.Server.Tests.TestServer;

namespace AgentScope.Server.Tests;

/// <summary>The server over the PostgreSQL audit sink, on the shared throwaway PostgreSQL (a schema per test).</summary>
[Collection("postgres")]
public sealed class PostgreSqlServerTests(SharedPostgres postgres)
{
    [PostgresFact]
    public async Task The_audit_trail_pages_forward_through_http_on_the_postgresql_sink()
    {
        var schema = "srv_" + Guid.NewGuid().ToString("N")[..12];
        await using var server = await StartAsync(addAudit: s => s.AddPostgreSqlAudit(o =>
        {
            o.ConnectionString = postgres.Server.ConnectionString;
            o.Schema = schema;
            o.QueryPageSize = 2; // so that one HTTP page takes several round trips to the database
        }));
        Assert.Equal(200, (int)(await server.SendAsync(HttpMethod.Get, "/readyz")).StatusCode);
        var key = await server.CreateAgentAsync("pager");
        await server.CreateAgentAsync("other");
        for (var i = 0; i < 7; i++)
        {
            await server.SendAsync(HttpMethod.Post, "/v0/vault", key, new { label = $"label-{i}", value = "v" });
        }

        var all = await AuditPaging.ReadAllAsync(server, "agent=pager", pageSize: 3);
        Assert.Equal(3, all.Pages);
        var seqs = all.Events.Select(e => e["seq"]!.GetValue<long>()).ToList();
        var rows = await postgres.Server.QueryAsync($"SELECT seq FROM {schema}.audit_events WHERE agent_id = 'pager' ORDER BY seq");
        Assert.Equal(rows.Select(r => long.Parse(r!, CultureInfo.InvariantCulture)), seqs); // the table's seqs, in order, each once
        Assert.Equal(["agent.create", .. Enumerable.Repeat("write", 7)], all.Events.Select(e => e["action"]!.GetValue<string>()));

        var writes = await AuditPaging.ReadAllAsync(server, "action=write&label=label-3", pageSize: 1);
        Assert.Equal(1, writes.Pages); // one event: a full page of 1, and next is null since nothing more matches
        Assert.Equal(seqs[4], Assert.Single(writes.Events)["seq"]!.GetValue<long>());
    }
}

/// <summary>Stopping PostgreSQL under a running server: a server of its own, since the shared one must stay up.</summary>
public sealed class PostgreSqlOutageServerTests
{
    [PostgresFact]
    public async Task With_postgresql_stopped_a_store_is_503_with_retry_after_and_changes_nothing_and_both_recover_when_it_returns()
    {
        await using var postgres = await PostgresServer.StartAsync();
        await using var server = await StartAsync(addAudit: s => s.AddPostgreSqlAudit(o => o.ConnectionString = postgres.ConnectionString));
        var key = await server.CreateAgentAsync("alpha");
        Assert.Equal(201, (int)(await server.SendAsync(HttpMethod.Post, "/v0/vault", key, new { label = "stripe-refund", value = "v1" })).StatusCode);
        Assert.Equal(200, (int)(await server.SendAsync(HttpMethod.Get, "/readyz")).StatusCode);

        await postgres.StopAsync();

        using (var overwrite = await server.SendAsync(HttpMethod.Post, "/v0/vault", key, new { label = "stripe-refund", value = "v2" }))
        {
            Assert.Equal("backend_unavailable", await AssertErrorAsync(overwrite, 503));
            Assert.NotNull(overwrite.Headers.RetryAfter);
        }

        using (var create = await server.SendAsync(HttpMethod.Post, "/v0/vault", key, new { label = "new-label", value = "v" }))
        {
            Assert.Equal("backend_unavailable", await AssertErrorAsync(create, 503));
            Assert.NotNull(create.Headers.RetryAfter);
        }

        using (var ready = await server.SendAsync(HttpMethod.Get, "/readyz"))
        {
            Assert.Equal("backend_unavailable", await AssertErrorAsync(ready, 503));
            Assert.NotNull(ready.Headers.RetryAfter);
            Assert.StartsWith("the audit sink cannot record: cannot reach the audit table",
                (await ReadJsonAsync(ready))["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        // The backend is as it was: the first version only, no new label.
        Assert.Equal(1, (await server.Backend.GetAsync(new EntryKey("alpha", "stripe-refund")))!.Metadata.Version);
        Assert.Null(await server.Backend.GetAsync(new EntryKey("alpha", "new-label")));

        await postgres.StartAgainAsync();

        using (var ready = await server.SendAsync(HttpMethod.Get, "/readyz"))
        {
            Assert.Equal(200, (int)ready.StatusCode);
        }

        using (var overwrite = await server.SendAsync(HttpMethod.Post, "/v0/vault", key, new { label = "stripe-refund", value = "v2" }))
        {
            Assert.Equal(200, (int)overwrite.StatusCode);
            Assert.Equal(2, (await ReadJsonAsync(overwrite))["version"]!.GetValue<long>());
        }

        using var read = await server.SendAsync(HttpMethod.Get, "/v0/vault/stripe-refund", key);
        Assert.Equal("v2", (await ReadJsonAsync(read))["value"]!.GetValue<string>());

        var trail = server.Services.GetRequiredService<IAuditTrail>();
        var verification = await trail.VerifyAsync();
        Assert.True(verification.Valid, verification.Problem);
        var writes = new List<AuditEvent>();
        await foreach (var e in trail.QueryAsync(new AuditQuery { Action = AuditActions.Write }))
        {
            writes.Add(e);
        }

        Assert.Equal(["stripe-refund", "stripe-refund"], writes.Select(w => w.Label)); // v1 and v2; the refused attempts left no record
        Assert.Single(server.Logs.Lines, l => l.Contains("not ready (backend_unavailable): the audit sink cannot record", StringComparison.Ordinal));
        Assert.Single(server.Logs.Lines, l => l.Contains("ready again", StringComparison.Ordinal));
    }
}
