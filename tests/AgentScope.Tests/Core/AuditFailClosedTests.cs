using AgentScope.Backends;
using AgentScope.Testing;

namespace AgentScope.Tests;

/// <summary>Fail-closed audit for admin operations, and the pairing of a mutation's records.</summary>
public sealed class AuditFailClosedTests
{
    [Fact]
    public async Task Admin_changes_are_refused_and_nothing_changes_when_the_audit_sink_fails()
    {
        await using var host = new TestHost();
        var (vault, key) = await host.AddAgentAsync("a");
        await vault.StoreAsync("db", new SecretValue("v1"));
        host.Sink.FailWith = new IOException("disk full");

        await Expect.FailsAsync(ErrorKind.BackendUnavailable, () => host.Admin.CreateAgentAsync("b"));
        await Expect.FailsAsync(ErrorKind.BackendUnavailable, () => host.Admin.RevokeAsync("a"));
        await Expect.FailsAsync(ErrorKind.BackendUnavailable, () => host.Admin.RotateKeyAsync("a", TimeSpan.Zero));
        await Expect.FailsAsync(ErrorKind.BackendUnavailable, () => host.Admin.SetPolicyAsync("a", new AgentPolicy()));

        host.Sink.FailWith = null;
        await Expect.FailsAsync(ErrorKind.NotFound, () => host.Admin.GetAgentAsync("b"));
        var a = await host.Admin.GetAgentAsync("a");
        Assert.Equal(AgentStatus.Active, a.Status);
        Assert.Single(a.Keys);
        Assert.NotEmpty(a.Policy.Rules);
        var again = await host.Authenticator.AuthenticateAgentAsync(key);
        Assert.Equal("v1", (await again.GetAsync("db")).Value.Reveal());
    }

    [Fact]
    public async Task A_write_that_fails_after_it_was_recorded_is_followed_by_an_error_record_with_the_same_request_id()
    {
        var backend = new FaultyBackend(new InMemorySecretBackend()) { Where = k => !k.IsRegistry };
        await using var host = new TestHost(backend);
        var (vault, _) = await host.AddAgentAsync("a");
        backend.FailNthPut(1);

        await Expect.FailsAsync(ErrorKind.BackendUnavailable, () => vault.StoreAsync("db", new SecretValue("v1")));

        var writes = host.Sink.Events.Where(e => e.Action == "write" && e.Label == "db").ToList();
        Assert.Equal(["ok", "error"], writes.Select(e => e.Outcome));
        Assert.NotNull(writes[0].RequestId);
        Assert.Equal(writes[0].RequestId, writes[1].RequestId);
    }

    [Fact]
    public async Task A_revoke_records_its_start_and_the_number_destroyed()
    {
        await using var host = new TestHost();
        var (vault, _) = await host.AddAgentAsync("a");
        await vault.StoreAsync("x", new SecretValue("v"));
        await vault.StoreAsync("y", new SecretValue("v"));

        Assert.Equal(2, await host.Admin.RevokeAsync("a"));

        var revokes = host.Sink.Events.Where(e => e.Action == "agent.revoke").ToList();
        Assert.Equal(2, revokes.Count);
        Assert.All(revokes, e => Assert.Equal("ok", e.Outcome));
        Assert.Equal("destroyed=2", revokes[1].Detail);
        Assert.Equal(revokes[0].RequestId, revokes[1].RequestId);
    }

    [Fact]
    public async Task Expired_labels_are_not_listed()
    {
        var time = new ManualTimeProvider();
        await using var host = new TestHost(time: time);
        var (vault, _) = await host.AddAgentAsync("a");
        await vault.StoreAsync("short", new SecretValue("v"), new StoreOptions { ExpiresAt = time.GetUtcNow().AddMinutes(1) });
        await vault.StoreAsync("long", new SecretValue("v"));
        Assert.Equal(2, (await vault.ListAsync()).Count);

        time.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal(["long"], (await vault.ListAsync()).Select(s => s.Label));
    }
}
