using AgentScope.Testing;

namespace AgentScope.Tests;

public sealed class KeyTests
{
    [Fact]
    public async Task After_a_rotation_the_old_key_works_until_the_grace_passes_and_the_new_key_works()
    {
        await using var host = new TestHost(configure: o => o.KeyRotationGrace = TimeSpan.FromMinutes(30));
        var (a, oldKey) = await host.AddAgentAsync("a");
        await a.StoreAsync("x", new SecretValue("v"));
        var rotatedAt = host.Time.GetUtcNow();

        var newKey = await host.Admin.RotateKeyAsync("a");

        Assert.NotEqual(oldKey, newKey);
        var keys = (await host.Admin.GetAgentAsync("a")).Keys;
        Assert.Equal(2, keys.Count);
        Assert.Equal(rotatedAt.AddMinutes(30), keys[0].ExpiresAt);
        Assert.Null(keys[1].ExpiresAt);

        host.Time.Advance(TimeSpan.FromMinutes(29));
        Assert.Equal("v", (await (await host.Authenticator.AuthenticateAgentAsync(oldKey)).GetAsync("x")).Value.Reveal());
        Assert.Equal("v", (await a.GetAsync("x")).Value.Reveal());

        host.Time.Advance(TimeSpan.FromMinutes(1));
        await Expect.FailsAsync(ErrorKind.Unauthenticated, () => host.Authenticator.AuthenticateAgentAsync(oldKey));
        await Expect.FailsAsync(ErrorKind.Unauthenticated, () => a.GetAsync("x"));
        var fresh = await host.Authenticator.AuthenticateAgentAsync(newKey);
        Assert.Equal("v", (await fresh.GetAsync("x")).Value.Reveal());
        Assert.Contains(host.Sink.Events, e => e.Action == "agent.rotate_key" && e.Outcome == "ok" && e.AgentId == "a");
    }

    [Fact]
    public async Task A_key_verified_earlier_in_a_cached_session_still_stops_working_when_it_expires()
    {
        // A cache TTL longer than the grace: the session that remembered the old key outlives its expiry.
        await using var host = new TestHost(configure: o =>
        {
            o.KeyRotationGrace = TimeSpan.FromMinutes(30);
            o.IdentityCacheTtl = TimeSpan.FromHours(2);
        });
        var (_, oldKey) = await host.AddAgentAsync("a");
        await host.Admin.RotateKeyAsync("a");

        await host.Authenticator.AuthenticateAgentAsync(oldKey);
        await host.Authenticator.AuthenticateAgentAsync(oldKey); // from the remembered verification
        host.Time.Advance(TimeSpan.FromMinutes(30));

        await Expect.FailsAsync(ErrorKind.Unauthenticated, () => host.Authenticator.AuthenticateAgentAsync(oldKey));
    }

    [Fact]
    public async Task A_wrong_secret_for_a_known_key_id_fails_before_and_after_the_right_one_was_verified()
    {
        await using var host = new TestHost(configure: o => o.IdentityCacheTtl = TimeSpan.FromHours(1));
        var (_, key) = await host.AddAgentAsync("a");
        var at = key.LastIndexOf('_') + 1;
        var wrongLastChar = key[..^1] + (key[^1] == 'A' ? 'B' : 'A');
        var wrongShort = key[..^1];
        var wrongLong = key + "A";
        var wrongFirstChar = key[..at] + (key[at] == 'A' ? 'B' : 'A') + key[(at + 1)..];

        for (var round = 0; round < 2; round++) // before, then after the right key was verified and remembered
        {
            foreach (var wrong in new[] { wrongLastChar, wrongShort, wrongLong, wrongFirstChar })
            {
                await Expect.FailsAsync(ErrorKind.Unauthenticated, () => host.Authenticator.AuthenticateAgentAsync(wrong));
            }

            Assert.Equal("a", (await host.Authenticator.AuthenticateAgentAsync(key)).AgentId);
        }
    }

    [Fact]
    public async Task A_rotation_with_zero_grace_ends_a_key_this_server_had_verified_on_its_next_use()
    {
        await using var host = new TestHost(configure: o => o.IdentityCacheTtl = TimeSpan.FromHours(1));
        var (_, oldKey) = await host.AddAgentAsync("a");
        await host.Authenticator.AuthenticateAgentAsync(oldKey);

        await host.Admin.RotateKeyAsync("a", TimeSpan.Zero);

        await Expect.FailsAsync(ErrorKind.Unauthenticated, () => host.Authenticator.AuthenticateAgentAsync(oldKey));
    }

    [Fact]
    public async Task The_default_grace_is_the_configured_key_rotation_grace_of_one_hour()
    {
        await using var host = new TestHost();
        var (_, oldKey) = await host.AddAgentAsync("a");

        await host.Admin.RotateKeyAsync("a");

        host.Time.Advance(TimeSpan.FromMinutes(59));
        await host.Authenticator.AuthenticateAgentAsync(oldKey);
        host.Time.Advance(TimeSpan.FromMinutes(1));
        await Expect.FailsAsync(ErrorKind.Unauthenticated, () => host.Authenticator.AuthenticateAgentAsync(oldKey));
    }

    [Fact]
    public async Task A_rotation_with_zero_grace_ends_the_old_key_at_once()
    {
        await using var host = new TestHost();
        var (a, oldKey) = await host.AddAgentAsync("a");

        var newKey = await host.Admin.RotateKeyAsync("a", TimeSpan.Zero);

        await Expect.FailsAsync(ErrorKind.Unauthenticated, () => host.Authenticator.AuthenticateAgentAsync(oldKey));
        await Expect.FailsAsync(ErrorKind.Unauthenticated, () => a.ListAsync());
        await host.Authenticator.AuthenticateAgentAsync(newKey);
    }

    [Fact]
    public async Task A_second_rotation_never_extends_an_older_keys_expiry_and_drops_expired_keys()
    {
        await using var host = new TestHost();
        var (_, first) = await host.AddAgentAsync("a");
        var second = await host.Admin.RotateKeyAsync("a", TimeSpan.FromMinutes(10));

        host.Time.Advance(TimeSpan.FromMinutes(5));
        var third = await host.Admin.RotateKeyAsync("a", TimeSpan.FromHours(2));

        host.Time.Advance(TimeSpan.FromMinutes(5));
        await Expect.FailsAsync(ErrorKind.Unauthenticated, () => host.Authenticator.AuthenticateAgentAsync(first));
        await host.Authenticator.AuthenticateAgentAsync(second);
        await host.Authenticator.AuthenticateAgentAsync(third);

        var fourth = await host.Admin.RotateKeyAsync("a", TimeSpan.FromMinutes(1));
        Assert.Equal(3, (await host.Admin.GetAgentAsync("a")).Keys.Count);
        await host.Authenticator.AuthenticateAgentAsync(fourth);
    }

    [Fact]
    public async Task An_admin_key_cannot_act_as_an_agent_and_an_agent_key_cannot_administer()
    {
        await using var host = new TestHost();
        var adminKey = await host.Authenticator.InitializeAsync();
        var (_, agentKey) = await host.AddAgentAsync("a");

        var asAgent = await Expect.FailsAsync(ErrorKind.AccessDenied, () => host.Authenticator.AuthenticateAgentAsync(adminKey));
        var asAdmin = await Expect.FailsAsync(ErrorKind.AccessDenied, () => host.Authenticator.AuthenticateAdminAsync(agentKey));

        Assert.Contains("admin key cannot use the agent API", asAgent.Message);
        Assert.Contains("agent key cannot use the admin API", asAdmin.Message);
        Assert.Equal(2, host.Sink.Events.Count(e => e.Action == "authenticate" && e.Outcome == "denied"));
    }

    [Fact]
    public async Task An_admin_key_authenticates_an_administrator_audited_under_its_key_id()
    {
        await using var host = new TestHost();
        Assert.False(await host.Authenticator.IsInitializedAsync());
        var adminKey = await host.Authenticator.InitializeAsync();
        Assert.True(await host.Authenticator.IsInitializedAsync());
        Assert.Null(await host.Authenticator.InitializeAsync());

        var admin = await host.Authenticator.AuthenticateAdminAsync(adminKey);
        await admin.CreateAgentAsync("a");

        var keyId = adminKey!.Split('_')[1];
        Assert.Equal("admin:" + keyId, admin.Actor);
        Assert.Contains(host.Sink.Events, e => e.Actor == "admin:" + keyId && e.Action == "agent.create" && e.AgentId == "a");
        await Expect.FailsAsync(ErrorKind.Unauthenticated, () => host.Authenticator.AuthenticateAdminAsync(adminKey[..^3] + "xyz"));
        await Expect.FailsAsync(ErrorKind.Unauthenticated, () => host.Authenticator.AuthenticateAdminAsync(null));
    }

    [Fact]
    public async Task Another_admin_key_works_beside_the_first()
    {
        await using var host = new TestHost();
        var first = await host.Authenticator.InitializeAsync();
        var admin = await host.Authenticator.AuthenticateAdminAsync(first);

        var second = await admin.CreateAdminKeyAsync();

        await host.Authenticator.AuthenticateAdminAsync(first);
        await host.Authenticator.AuthenticateAdminAsync(second);
    }

    [Fact]
    public async Task An_agent_key_edited_to_name_another_agent_is_unauthenticated()
    {
        await using var host = new TestHost();
        var (_, keyA) = await host.AddAgentAsync("a");
        await host.AddAgentAsync("b");

        var forged = "ask_b_" + keyA["ask_a_".Length..];

        await Expect.FailsAsync(ErrorKind.Unauthenticated, () => host.Authenticator.AuthenticateAgentAsync(forged));
    }

    [Fact]
    public async Task An_agents_key_reaches_only_its_own_vault()
    {
        await using var host = new TestHost();
        var (_, keyA) = await host.AddAgentAsync("a");
        var (_, keyB) = await host.AddAgentAsync("b");

        Assert.Equal("a", (await host.Authenticator.AuthenticateAgentAsync(keyA)).AgentId);
        Assert.Equal("b", (await host.Authenticator.AuthenticateAgentAsync(keyB)).AgentId);
    }
}
