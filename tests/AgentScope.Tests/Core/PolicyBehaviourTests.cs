using AgentScope.Testing;

namespace AgentScope.Tests;

public sealed class PolicyBehaviourTests
{
    private static AgentPolicy Policy(params PolicyRule[] rules) => new() { Rules = [.. rules] };

    [Fact]
    public async Task A_deny_rule_wins_over_an_allow_rule()
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a", Policy(
            new PolicyRule { Labels = "prod-*", Operations = ["read"], Effect = PolicyEffect.Deny },
            new PolicyRule { Labels = "*", Operations = ["*"] }));
        await a.StoreAsync("prod-db", new SecretValue("p"));
        await a.StoreAsync("dev-db", new SecretValue("d"));

        var e = await Expect.FailsAsync(ErrorKind.AccessDenied, () => a.GetAsync("prod-db"));

        Assert.Contains("denies read", e.Message);
        Assert.Equal("d", (await a.GetAsync("dev-db")).Value.Reveal());
        await a.StoreAsync("prod-db", new SecretValue("p2"));
        Assert.Contains(host.Sink.Events, ev => ev.Action == "read" && ev.Label == "prod-db" && ev.Outcome == "denied");
    }

    [Fact]
    public async Task Operations_not_granted_are_denied()
    {
        await using var host = new TestHost();
        var admin = host.Admin;
        var (a, _) = await host.AddAgentAsync("a", Policy(new PolicyRule { Labels = "*", Operations = ["write"] }));

        await a.StoreAsync("x", new SecretValue("v"));

        await Expect.FailsAsync(ErrorKind.AccessDenied, () => a.GetAsync("x"));
        await Expect.FailsAsync(ErrorKind.AccessDenied, () => a.DeleteAsync("x"));
        await Expect.FailsAsync(ErrorKind.AccessDenied, () => a.GetTotpAsync("x"));
        var list = await Expect.FailsAsync(ErrorKind.AccessDenied, () => a.ListAsync());
        Assert.Contains("no rule allows list", list.Message);
        Assert.Equal("v", (await (await admin.OpenVaultAsync("a")).GetAsync("x")).Value.Reveal());
    }

    [Fact]
    public async Task A_rule_stops_applying_when_it_expires_on_the_clock()
    {
        await using var host = new TestHost();
        var until = host.Time.GetUtcNow().AddMinutes(10);
        var (a, _) = await host.AddAgentAsync("a", Policy(
            new PolicyRule { Labels = "*", Operations = ["write"] },
            new PolicyRule { Labels = "temp-*", Operations = ["read", "list"], ExpiresAt = until }));
        await a.StoreAsync("temp-token", new SecretValue("v"));

        host.Time.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal("v", (await a.GetAsync("temp-token")).Value.Reveal());
        Assert.Single(await a.ListAsync());

        host.Time.Advance(TimeSpan.FromMinutes(1));
        await Expect.FailsAsync(ErrorKind.AccessDenied, () => a.GetAsync("temp-token"));
        await Expect.FailsAsync(ErrorKind.AccessDenied, () => a.ListAsync());
    }

    [Fact]
    public async Task A_rule_requiring_justification_needs_one_in_the_access_context_and_records_it()
    {
        await using var host = new TestHost();
        var policy = Policy(
            new PolicyRule { Labels = "*", Operations = ["*"] },
            new PolicyRule { Labels = "prod-*", Operations = ["read"], RequireJustification = true });
        var created = await host.Admin.CreateAgentAsync("a", policy: policy);
        var a = await host.Authenticator.AuthenticateAgentAsync(created.ApiKey);
        await a.StoreAsync("prod-db", new SecretValue("p"));

        var e = await Expect.FailsAsync(ErrorKind.AccessDenied, () => a.GetAsync("prod-db"));
        Assert.Contains("justification is required", e.Message);
        await Expect.FailsAsync(ErrorKind.AccessDenied, () => a.WithContext(new AccessContext { Justification = "   " }).GetAsync("prod-db"));

        var justified = a.WithContext(new AccessContext { Justification = "INC-42 rotate refund key", RequestId = "req-1" });
        Assert.Equal("p", (await justified.GetAsync("prod-db")).Value.Reveal());
        var fromAuth = await host.Authenticator.AuthenticateAgentAsync(created.ApiKey, new AccessContext { Justification = "INC-43" });
        Assert.Equal("p", (await fromAuth.GetAsync("prod-db")).Value.Reveal());

        var ok = host.Sink.Events.Where(ev => ev.Action == "read" && ev.Outcome == "ok").ToList();
        Assert.Equal(2, ok.Count);
        Assert.Equal("INC-42 rotate refund key", ok[0].Justification);
        Assert.Equal("req-1", ok[0].RequestId);
        Assert.Equal("INC-43", ok[1].Justification);
    }

    [Fact]
    public async Task Reads_over_the_per_minute_limit_are_rate_limited_until_the_next_minute()
    {
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 15, TimeSpan.Zero);
        await using var host = new TestHost(time: new ManualTimeProvider(start));
        var (a, _) = await host.AddAgentAsync("a", Policy(
            new PolicyRule { Labels = "*", Operations = ["*"] },
            new PolicyRule { Labels = "db", Operations = ["read"], ReadsPerMinute = 3 }));
        await a.StoreAsync("db", new SecretValue("v"));
        await a.StoreAsync("other", new SecretValue("o"));

        for (var i = 0; i < 3; i++)
        {
            await a.GetAsync("db");
        }

        var e = await Expect.FailsAsync(ErrorKind.RateLimited, () => a.GetAsync("db"));

        Assert.Equal(TimeSpan.FromSeconds(45), e.RetryAfter);
        Assert.Equal(429, ErrorCodes.HttpStatus(e.Kind));
        Assert.Contains(host.Sink.Events, ev => ev.Action == "read" && ev.Outcome == "denied" && ev.Label == "db");
        await a.StoreAsync("db", new SecretValue("writes are not limited"));
        for (var i = 0; i < 10; i++)
        {
            await a.GetAsync("other");
        }

        host.Time.Advance(e.RetryAfter!.Value);
        Assert.Equal("writes are not limited", (await a.GetAsync("db")).Value.Reveal());
    }

    [Fact]
    public async Task The_read_limit_counts_TOTP_codes_too()
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a", Policy(
            new PolicyRule { Labels = "*", Operations = ["*"] },
            new PolicyRule { Labels = "otp", Operations = ["totp"], ReadsPerMinute = 2 }));
        await a.StoreAsync("otp", new SecretValue("JBSWY3DPEHPK3PXP"), new StoreOptions { Kind = SecretKind.Totp });

        await a.GetTotpAsync("otp");
        await a.GetTotpAsync("otp");

        var e = await Expect.FailsAsync(ErrorKind.RateLimited, () => a.GetTotpAsync("otp"));
        Assert.NotNull(e.RetryAfter);
    }

    [Fact]
    public async Task A_limit_on_one_rule_is_not_spent_by_reads_that_only_another_rule_covers()
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a", Policy(
            new PolicyRule { Labels = "*", Operations = ["*"] },
            new PolicyRule { Labels = "cheap-*", Operations = ["read"], ReadsPerMinute = 100 },
            new PolicyRule { Labels = "cheap-prod", Operations = ["read"], ReadsPerMinute = 2 }));
        await a.StoreAsync("cheap-dev", new SecretValue("d"));
        await a.StoreAsync("cheap-prod", new SecretValue("p"));

        for (var i = 0; i < 5; i++)
        {
            await a.GetAsync("cheap-dev");
        }

        await a.GetAsync("cheap-prod");
        await a.GetAsync("cheap-prod");
        await Expect.FailsAsync(ErrorKind.RateLimited, () => a.GetAsync("cheap-prod"));
    }

    [Fact]
    public async Task Reads_of_a_label_count_against_every_limited_rule_that_covers_it()
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a", Policy(
            new PolicyRule { Labels = "*", Operations = ["*"] },
            new PolicyRule { Labels = "prod-*", Operations = ["read"], ReadsPerMinute = 3 },
            new PolicyRule { Labels = "prod-db", Operations = ["read"], ReadsPerMinute = 2 }));
        await a.StoreAsync("prod-db", new SecretValue("d"));
        await a.StoreAsync("prod-api", new SecretValue("p"));

        await a.GetAsync("prod-db");
        await a.GetAsync("prod-db");
        await a.GetAsync("prod-api");

        // prod-* allows 3 reads a minute in all, whichever prod-* label they were; prod-db's own 2 are spent too.
        var e = await Expect.FailsAsync(ErrorKind.RateLimited, () => a.GetAsync("prod-api"));
        Assert.Contains("3 reads per minute", e.Message);
        await Expect.FailsAsync(ErrorKind.RateLimited, () => a.GetAsync("prod-db"));
    }

    [Fact]
    public async Task Rate_limits_of_two_agents_are_counted_apart()
    {
        await using var host = new TestHost();
        var policy = Policy(new PolicyRule { Labels = "*", Operations = ["*"], ReadsPerMinute = 1 });
        var (a, _) = await host.AddAgentAsync("a", policy);
        var (b, _) = await host.AddAgentAsync("b", policy);
        await a.StoreAsync("x", new SecretValue("a"));
        await b.StoreAsync("x", new SecretValue("b"));

        await a.GetAsync("x");
        await b.GetAsync("x");

        await Expect.FailsAsync(ErrorKind.RateLimited, () => a.GetAsync("x"));
    }

    [Fact]
    public async Task A_listing_shows_only_the_labels_the_policy_lets_the_agent_list()
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a", Policy(
            new PolicyRule { Labels = "*", Operations = ["read", "write"] },
            new PolicyRule { Labels = "public-*", Operations = ["list"] },
            new PolicyRule { Labels = "public-hidden", Operations = ["list"], Effect = PolicyEffect.Deny }));
        foreach (var label in new[] { "public-a", "public-b", "public-hidden", "private-c" })
        {
            await a.StoreAsync(label, new SecretValue("v"));
        }

        var listed = await a.ListAsync();

        Assert.Equal(["public-a", "public-b"], listed.Select(i => i.Label));
        Assert.Equal("v", (await a.GetAsync("private-c")).Value.Reveal());
    }

    [Fact]
    public async Task Labels_whose_listing_requires_a_justification_are_listed_only_with_one()
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a", Policy(
            new PolicyRule { Labels = "*", Operations = ["read", "write"] },
            new PolicyRule { Labels = "public-*", Operations = ["list"] },
            new PolicyRule { Labels = "prod-*", Operations = ["list"], RequireJustification = true }));
        await a.StoreAsync("public-a", new SecretValue("v"));
        await a.StoreAsync("prod-db", new SecretValue("v"));

        var unjustified = await a.ListAsync();
        var justified = await a.WithContext(new AccessContext { Justification = "INC-7 audit of prod labels" }).ListAsync();

        Assert.Equal(["public-a"], unjustified.Select(i => i.Label));
        Assert.Equal(["prod-db", "public-a"], justified.Select(i => i.Label));
    }

    [Fact]
    public async Task A_new_policy_takes_effect_at_once_on_an_open_vault()
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a");
        await a.StoreAsync("x", new SecretValue("v"));

        var info = await host.Admin.SetPolicyAsync("a", Policy(new PolicyRule { Labels = "*", Operations = ["list"] }));

        Assert.Equal(["list"], Assert.Single(info.Policy.Rules).Operations);
        await Expect.FailsAsync(ErrorKind.AccessDenied, () => a.GetAsync("x"));
        Assert.Single(await a.ListAsync());
        Assert.Contains(host.Sink.Events, e => e.Action == "agent.policy" && e.Outcome == "ok" && e.AgentId == "a");
    }
}
