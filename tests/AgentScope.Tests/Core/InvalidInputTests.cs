using AgentScope.Testing;

namespace AgentScope.Tests;

/// <summary>Invariant 5: bad input gets a clear, typed invalid-input error, and changes nothing.</summary>
public sealed class InvalidInputTests
{
    public static TheoryData<string?> BadLabels => new()
    {
        null, "", ".env", "-x", "_x", "../x", "a/b", "a b", "x\0", "\uff58", "\u0430", "x\u200d", "%2e%2e%2f", new string('x', 129),
    };

    public static TheoryData<string?> BadAgentIds => new()
    {
        null, "", "A", "a_b", "-a", "a-", "a.b", "a/b", "_registry", "\u0430", new string('a', 64),
    };

    private static readonly string[] Operations = ["store", "get", "delete", "totp"];

    private static Task Run(AgentVault vault, string op, string? label) => op switch
    {
        "store" => vault.StoreAsync(label!, new SecretValue("v")),
        "get" => vault.GetAsync(label!),
        "delete" => vault.DeleteAsync(label!),
        "totp" => vault.GetTotpAsync(label!),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    [Theory]
    [MemberData(nameof(BadLabels))]
    public async Task A_label_outside_the_grammar_is_invalid_input_for_every_operation_and_stores_nothing(string? label)
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a");
        var admin = await host.Admin.OpenVaultAsync("a");

        foreach (var op in Operations)
        {
            var e = await Expect.FailsAsync(ErrorKind.InvalidInput, () => Run(a, op, label));
            Assert.Contains("invalid label", e.Message);
            await Expect.FailsAsync(ErrorKind.InvalidInput, () => Run(admin, op, label));
        }

        Assert.Empty(await a.ListAsync());
        Assert.DoesNotContain(await host.ListAllAsync(), m => m.Key.Namespace == "a");
        Assert.All(host.Sink.Events.Where(e => e.AgentId == "a" && e.Action is not ("agent.create" or "list")), e =>
        {
            Assert.Equal("error", e.Outcome);
            Assert.Null(e.Label);
        });
    }

    [Theory]
    [MemberData(nameof(BadAgentIds))]
    public async Task An_agent_id_outside_the_grammar_is_invalid_input_for_every_admin_operation(string? id)
    {
        await using var host = new TestHost();
        var admin = host.Admin;

        await Expect.FailsAsync(ErrorKind.InvalidInput, () => admin.CreateAgentAsync(id!));
        await Expect.FailsAsync(ErrorKind.InvalidInput, () => admin.GetAgentAsync(id!));
        await Expect.FailsAsync(ErrorKind.InvalidInput, () => admin.SetPolicyAsync(id!, AgentPolicy.FullControl()));
        await Expect.FailsAsync(ErrorKind.InvalidInput, () => admin.RotateKeyAsync(id!));
        await Expect.FailsAsync(ErrorKind.InvalidInput, () => admin.RevokeAsync(id!));
        await Expect.FailsAsync(ErrorKind.InvalidInput, () => admin.OpenVaultAsync(id!));

        Assert.Empty(await admin.ListAgentsAsync());
    }

    [Fact]
    public async Task A_bad_policy_reports_every_problem_together_and_changes_nothing()
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a");
        var bad = new AgentPolicy
        {
            Rules =
            [
                new PolicyRule { Labels = "../x", Operations = ["read"] },
                new PolicyRule { Labels = "ok-*", Operations = [] },
                new PolicyRule { Labels = "ok-*", Operations = ["read", "fly"] },
                new PolicyRule { Labels = "ok-*", Operations = ["read"], ReadsPerMinute = 0 },
                new PolicyRule { Labels = "ok-*", Operations = ["use"], AllowedHosts = ["not a host"] },
                new PolicyRule { Labels = "", Operations = ["read"] },
                null!,
            ],
        };

        var create = await Expect.FailsAsync(ErrorKind.InvalidInput, () => host.Admin.CreateAgentAsync("b", policy: bad));
        var set = await Expect.FailsAsync(ErrorKind.InvalidInput, () => host.Admin.SetPolicyAsync("a", bad));

        foreach (var e in new[] { create, set })
        {
            Assert.StartsWith("invalid policy: ", e.Message);
            Assert.Contains("rule 0: 'labels' may hold only", e.Message);
            Assert.Contains("rule 1: 'operations' must list", e.Message);
            Assert.Contains("rule 2: unknown operation 'fly'", e.Message);
            Assert.Contains("rule 3: 'readsPerMinute' must be positive", e.Message);
            Assert.Contains("rule 4: allowed host 'not a host'", e.Message);
            Assert.Contains("rule 5: 'labels' must be a glob", e.Message);
            Assert.Contains("rule 6: empty", e.Message);
        }

        await Expect.FailsAsync(ErrorKind.NotFound, () => host.Admin.GetAgentAsync("b"));
        Assert.Equal("*", Assert.Single((await host.Admin.GetAgentAsync("a")).Policy.Rules).Labels);
        await a.StoreAsync("still-full-control", new SecretValue("v"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("not base32!")]
    [InlineData("JBSWY3DPEHPK3PX1")]
    [InlineData("ABC")]
    [InlineData("JBSW=Y3DP")]
    [InlineData("otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1")]
    [InlineData("otpauth://totp/x")]
    [InlineData("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=7")]
    [InlineData("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5")]
    [InlineData("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=0")]
    [InlineData("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&secret=JBSWY3DPEHPK3PXP")]
    [InlineData("otpauth://yotp/x?secret=JBSWY3DPEHPK3PXP")]
    public async Task A_bad_TOTP_seed_is_invalid_input_and_stores_nothing(string seed)
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a");

        await Expect.FailsAsync(ErrorKind.InvalidInput, () => a.StoreAsync("otp", new SecretValue(seed), new StoreOptions { Kind = SecretKind.Totp }));

        await Expect.FailsAsync(ErrorKind.NotFound, () => a.GetTotpAsync("otp"));
        Assert.Empty(await a.ListAsync());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(-86_400)]
    public async Task An_expiry_not_in_the_future_is_invalid_input(int seconds)
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a");

        var e = await Expect.FailsAsync(ErrorKind.InvalidInput,
            () => a.StoreAsync("x", new SecretValue("v"), new StoreOptions { ExpiresAt = host.Time.GetUtcNow().AddSeconds(seconds) }));

        Assert.Contains("expiresAt", e.Message);
        await Expect.FailsAsync(ErrorKind.NotFound, () => a.GetAsync("x"));
    }

    [Theory]
    [InlineData(SecretKind.Registry)]
    [InlineData((SecretKind)42)]
    [InlineData((SecretKind)(-1))]
    public async Task A_kind_other_than_generic_or_totp_is_invalid_input(SecretKind kind)
    {
        await using var host = new TestHost();
        var (a, _) = await host.AddAgentAsync("a");

        var e = await Expect.FailsAsync(ErrorKind.InvalidInput, () => a.StoreAsync("x", new SecretValue("v"), new StoreOptions { Kind = kind }));

        Assert.Contains("kind", e.Message);
        await Expect.FailsAsync(ErrorKind.NotFound, () => a.GetAsync("x"));
    }

    [Fact]
    public async Task A_value_over_the_limit_is_value_too_large_and_one_at_the_limit_is_stored()
    {
        await using var host = new TestHost(configure: o => o.MaxValueBytes = 16);
        var (a, _) = await host.AddAgentAsync("a");

        await a.StoreAsync("at-limit", new SecretValue(new string('v', 16)));
        var e = await Expect.FailsAsync(ErrorKind.ValueTooLarge, () => a.StoreAsync("over", new SecretValue(new string('v', 17))));
        await Expect.FailsAsync(ErrorKind.ValueTooLarge, () => a.StoreAsync("multibyte", new SecretValue(new string('\u00e9', 9))));

        Assert.Contains("limit is 16", e.Message);
        Assert.Equal(["at-limit"], (await a.ListAsync()).Select(i => i.Label));
    }

    [Fact]
    public async Task A_value_the_backend_cannot_hold_after_encryption_is_value_too_large()
    {
        await using var host = new TestHost(configure: o =>
        {
            o.ClientSideEncryption = true;
            o.MaxValueBytes = 2 << 20;
        });
        var (a, _) = await host.AddAgentAsync("a");

        var e = await Expect.FailsAsync(ErrorKind.ValueTooLarge, () => a.StoreAsync("big", new SecretValue(new string('v', 1 << 20))));

        Assert.Contains("InMemory", e.Message);
    }

    [Fact]
    public async Task Other_bad_admin_input_is_invalid_input()
    {
        await using var host = new TestHost();
        await host.AddAgentAsync("a");

        await Expect.FailsAsync(ErrorKind.InvalidInput, () => host.Admin.CreateAgentAsync("b", name: new string('n', 201)));
        await Expect.FailsAsync(ErrorKind.InvalidInput, () => host.Admin.RotateKeyAsync("a", TimeSpan.FromSeconds(-1)));
        await Expect.FailsAsync(ErrorKind.Conflict, () => host.Admin.CreateAgentAsync("a"));
        await Expect.FailsAsync(ErrorKind.NotFound, () => host.Admin.GetAgentAsync("nobody"));
        await Expect.FailsAsync(ErrorKind.NotFound, () => host.Admin.SetPolicyAsync("nobody", AgentPolicy.FullControl()));
        await Expect.FailsAsync(ErrorKind.NotFound, () => host.Admin.OpenVaultAsync("nobody"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("ask_")]
    [InlineData("bearer")]
    [InlineData("ask_nobody_0123456789ab_secret")]
    [InlineData("ask_A_0123456789ab_secret")]
    public async Task A_missing_malformed_or_unknown_agent_key_is_unauthenticated(string? key)
    {
        await using var host = new TestHost();
        await host.AddAgentAsync("a");

        var e = await Expect.FailsAsync(ErrorKind.Unauthenticated, () => host.Authenticator.AuthenticateAgentAsync(key));

        Assert.Equal("missing or invalid API key", e.Message);
        Assert.Equal(401, ErrorCodes.HttpStatus(e.Kind));
    }
}
