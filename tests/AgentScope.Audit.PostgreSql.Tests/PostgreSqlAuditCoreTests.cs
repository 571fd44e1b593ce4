using System.Reflection;
using AgentScope.Backends;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Audit.PostgreSql.Tests;

/// <summary>The sink behind the real core (AddAgentScope + AddPostgreSqlAudit), as a server would run it.</summary>
[Collection("postgres")]
public sealed class PostgreSqlAuditCoreTests(SharedPostgres postgres) : AuditTablesTest(postgres)
{
    private static IEnumerable<string> AllActions() =>
        typeof(AuditActions).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (string)f.GetRawConstantValue()!);

    [PostgresFact]
    public async Task Every_action_of_the_core_is_recorded_and_no_value_reaches_the_table()
    {
        var canary = "canary-" + Guid.NewGuid().ToString("N") + "-Zq9";
        const string Seed = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        var backend = new InMemorySecretBackend();
        var services = Tables.BuildCore(backend);
        var auth = services.GetRequiredService<AgentScopeAuthenticator>();

        var adminKey = await auth.InitializeAsync();                                               // init
        var admin = await auth.AuthenticateAdminAsync(adminKey);
        var created = await admin.CreateAgentAsync("alpha");                                       // agent.create
        var vault = await auth.AuthenticateAgentAsync(created.ApiKey, new AccessContext { RequestId = "req-42", Justification = "refund #7" });
        await vault.StoreAsync("stripe-refund", new SecretValue(canary));                           // write
        await vault.StoreAsync("same-value", new SecretValue(canary));
        Assert.Equal(canary, (await vault.GetAsync("stripe-refund")).Value.Reveal());               // read
        await vault.ListAsync();                                                                   // list
        await vault.StoreAsync("github-2fa", new SecretValue(Seed), new StoreOptions { Kind = SecretKind.Totp });
        await vault.GetTotpAsync("github-2fa");                                                    // totp
        await Assert.ThrowsAsync<AgentScopeException>(() => vault.UseAsync("stripe-refund", "api.stripe.com", https: true, loopback: false)); // request (denied)
        await vault.DeleteAsync("stripe-refund");                                                  // delete
        await Assert.ThrowsAsync<AgentScopeException>(() => vault.GetAsync("stripe-refund"));      // read, not found
        await admin.SetPolicyAsync("alpha", AgentPolicy.FullControl());                            // agent.policy
        await admin.RotateKeyAsync("alpha");                                                       // agent.rotate_key
        await Assert.ThrowsAsync<AgentScopeException>(() => auth.AuthenticateAgentAsync("ask_alpha_bogus_key")); // authenticate (denied)
        await admin.RevokeAsync("alpha");                                                          // agent.revoke
        await admin.SweepAsync();                                                                  // sweep

        var trail = services.GetRequiredService<IAuditTrail>();
        var events = await AuditTables.QueryAsync(trail, new AuditQuery { Limit = 1000 });
        Assert.Equal(AllActions().Order(), events.Select(e => e.Action).Distinct().Order());
        Assert.Equal(new AuditVerification(true, events.Count, null), await trail.VerifyAsync());

        var writes = events.Where(e => e.Action == AuditActions.Write).ToList();
        Assert.All(writes, w => Assert.Matches("^[0-9a-f]{64}$", w.Fingerprint));
        Assert.Equal(writes[0].Fingerprint, writes[1].Fingerprint);  // same value, same fingerprint
        Assert.NotEqual(writes[0].Fingerprint, writes[2].Fingerprint);
        var read = events.First(e => e.Action == AuditActions.Read);
        Assert.Equal(("agent:alpha", "alpha", "stripe-refund", AuditOutcomes.Ok, "req-42", "refund #7"), (read.Actor, read.AgentId, read.Label, read.Outcome, read.RequestId, read.Justification));
        Assert.Contains(events, e => e is { Action: AuditActions.Read, Outcome: AuditOutcomes.NotFound });
        Assert.Contains(events, e => e is { Action: AuditActions.Request, Outcome: AuditOutcomes.Denied });

        // Never a value, nor a seed, nor a key: anywhere in the table's text.
        var rows = await Tables.Server.QueryAsync($"SELECT t::text FROM {Tables.Table} t");
        Assert.Equal(events.Count, rows.Count);
        Assert.DoesNotContain(rows, r => r!.Contains(canary, StringComparison.Ordinal));
        Assert.DoesNotContain(rows, r => r!.Contains(Seed, StringComparison.Ordinal));
        Assert.DoesNotContain(rows, r => r!.Contains(created.ApiKey, StringComparison.Ordinal));
        Assert.DoesNotContain(rows, r => r!.Contains(adminKey!, StringComparison.Ordinal));
    }

    [PostgresFact]
    public async Task The_sink_is_registered_as_sink_trail_and_health()
    {
        var services = Tables.BuildCore(new InMemorySecretBackend());
        var sink = services.GetRequiredService<PostgreSqlAuditSink>();
        Assert.Same(sink, services.GetRequiredService<IAuditSink>());
        Assert.Same(sink, services.GetRequiredService<IAuditTrail>());
        Assert.Same(sink, services.GetRequiredService<IAuditHealth>());
        await services.GetRequiredService<IAuditHealth>().CheckHealthAsync();
    }

    [PostgresFact]
    public async Task Concurrent_operations_are_gathered_into_fewer_transactions_each_returning_after_its_commit()
    {
        var services = Tables.BuildCore(new InMemorySecretBackend());
        var auth = services.GetRequiredService<AgentScopeAuthenticator>();
        var created = await auth.LocalAdmin().CreateAgentAsync("alpha");
        var vault = await auth.AuthenticateAgentAsync(created.ApiKey);
        await vault.StoreAsync("k", new SecretValue("v"));
        var sink = services.GetRequiredService<PostgreSqlAuditSink>();
        var before = sink.CommittedBatches;

        await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(() => vault.GetAsync("k"))));

        // Every read returned, so every read's record is committed already: no waiting needed here.
        Assert.Equal(200, await CountAsync(AuditActions.Read));
        Assert.True(sink.CommittedBatches - before < 200, $"{sink.CommittedBatches - before} transactions for 200 reads");
    }

    private async Task<long> CountAsync(string action) =>
        long.Parse((await Tables.Server.QueryAsync($"SELECT count(*) FROM {Tables.Table} WHERE action = '{action}'")).Single()!, System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Stopping and restarting the database: needs a server of its own, since the others are shared.</summary>
public sealed class PostgreSqlAuditOutageTests
{
    [PostgresFact]
    public async Task When_the_database_stops_the_core_refuses_operations_and_changes_nothing_then_recovers_when_it_returns()
    {
        await using var server = await PostgresServer.StartAsync();
        await using var tables = new AuditTables(server);
        var backend = new InMemorySecretBackend();
        var services = tables.BuildCore(backend);
        var auth = services.GetRequiredService<AgentScopeAuthenticator>();
        var health = services.GetRequiredService<IAuditHealth>();
        var created = await auth.LocalAdmin().CreateAgentAsync("alpha");
        var vault = await auth.AuthenticateAgentAsync(created.ApiKey);
        await vault.StoreAsync("stripe-refund", new SecretValue("v1"));
        await health.CheckHealthAsync();

        await server.StopAsync();

        var store = await Assert.ThrowsAsync<AgentScopeException>(() => vault.StoreAsync("stripe-refund", new SecretValue("v2")));
        Assert.Equal(ErrorKind.BackendUnavailable, store.Kind);
        Assert.Equal(503, ErrorCodes.HttpStatus(store.Kind));
        var create = await Assert.ThrowsAsync<AgentScopeException>(() => vault.StoreAsync("new-label", new SecretValue("v")));
        Assert.Equal(ErrorKind.BackendUnavailable, create.Kind);
        var read = await Assert.ThrowsAsync<AgentScopeException>(() => vault.GetAsync("stripe-refund"));
        Assert.Equal(ErrorKind.BackendUnavailable, read.Kind);
        var delete = await Assert.ThrowsAsync<AgentScopeException>(() => vault.DeleteAsync("stripe-refund"));
        Assert.Equal(ErrorKind.BackendUnavailable, delete.Kind);
        var unhealthy = await Assert.ThrowsAsync<AgentScopeException>(() => health.CheckHealthAsync().AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, unhealthy.Kind);

        // Nothing changed in the backend: same version, no new label, nothing deleted.
        Assert.Equal(1, (await backend.GetAsync(new EntryKey("alpha", "stripe-refund")))!.Metadata.Version);
        Assert.Null(await backend.GetAsync(new EntryKey("alpha", "new-label")));

        await server.StartAgainAsync();

        await health.CheckHealthAsync();
        await vault.StoreAsync("stripe-refund", new SecretValue("v2"));
        Assert.Equal("v2", (await vault.GetAsync("stripe-refund")).Value.Reveal());
        Assert.Equal(2, (await backend.GetAsync(new EntryKey("alpha", "stripe-refund")))!.Metadata.Version);

        var trail = services.GetRequiredService<IAuditTrail>();
        var verification = await trail.VerifyAsync();
        Assert.True(verification.Valid, verification.Problem);
        var writes = await AuditTables.QueryAsync(trail, new AuditQuery { Action = AuditActions.Write, Label = "stripe-refund" });
        Assert.Equal(2, writes.Count); // v1 and v2; the refused attempt left no record
    }

    [PostgresFact]
    public async Task A_sink_started_while_the_database_is_down_fails_closed_then_creates_its_table_when_it_comes_up()
    {
        await using var server = await PostgresServer.StartAsync();
        await server.StopAsync();
        await using var tables = new AuditTables(server);
        var sink = tables.Open();

        var ex = await Assert.ThrowsAsync<AgentScopeException>(() => sink.WriteAsync(AuditTables.Event(0)).AsTask());
        Assert.Equal(ErrorKind.BackendUnavailable, ex.Kind);
        Assert.StartsWith("audit sink unavailable", ex.Message, StringComparison.Ordinal);

        await server.StartAgainAsync();
        await sink.WriteAsync(AuditTables.Event(1));
        Assert.Equal(new AuditVerification(true, 1, null), await sink.VerifyAsync());
    }
}
