namespace AgentScope.Tests;

public sealed class PolicyEvaluatorTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static PolicyRule Allow(string labels, params string[] ops) => new() { Labels = labels, Operations = [.. ops] };

    private static PolicyRule Deny(string labels, params string[] ops) => new() { Labels = labels, Operations = [.. ops], Effect = PolicyEffect.Deny };

    private static PolicyEvaluator Policy(params PolicyRule[] rules) => new(new AgentPolicy { Rules = [.. rules] });

    [Fact]
    public void Full_control_allows_every_operation_on_every_label()
    {
        var policy = new PolicyEvaluator(AgentPolicy.FullControl());

        foreach (var op in new[] { VaultOperations.Read, VaultOperations.Write, VaultOperations.Delete, VaultOperations.List, VaultOperations.Totp, VaultOperations.Use })
        {
            Assert.True(policy.Evaluate(op, "anything", Now).Allowed, op.ToString());
        }
    }

    [Fact]
    public void With_no_matching_rule_the_operation_is_denied_with_a_reason()
    {
        var policy = Policy(Allow("stripe-*", "read"));

        var d = policy.Evaluate(VaultOperations.Read, "aws-key", Now);

        Assert.False(d.Allowed);
        Assert.Contains("no rule allows read", d.Reason);
        Assert.False(policy.Evaluate(VaultOperations.Write, "stripe-x", Now).Allowed);
    }

    [Fact]
    public void An_empty_policy_denies_everything()
    {
        var policy = Policy();

        Assert.False(policy.Evaluate(VaultOperations.Read, "a", Now).Allowed);
        Assert.False(policy.AllowsAny(VaultOperations.List, Now));
    }

    [Fact]
    public void Deny_wins_over_allow_whatever_the_order()
    {
        var denyFirst = Policy(Deny("stripe-*", "read"), Allow("*", "*"));
        var denyLast = Policy(Allow("*", "*"), Deny("stripe-*", "read"));

        foreach (var policy in new[] { denyFirst, denyLast })
        {
            var d = policy.Evaluate(VaultOperations.Read, "stripe-refund", Now);
            Assert.False(d.Allowed);
            Assert.Contains("denies read", d.Reason);
            Assert.True(policy.Evaluate(VaultOperations.Write, "stripe-refund", Now).Allowed);
            Assert.True(policy.Evaluate(VaultOperations.Read, "aws-key", Now).Allowed);
        }
    }

    [Fact]
    public void An_expired_rule_no_longer_applies_whether_allow_or_deny()
    {
        var policy = Policy(
            new PolicyRule { Labels = "temp-*", Operations = ["read"], ExpiresAt = Now.AddMinutes(5) },
            new PolicyRule { Labels = "*", Operations = ["write"], Effect = PolicyEffect.Deny, ExpiresAt = Now.AddMinutes(5) },
            Allow("*", "write"));

        Assert.True(policy.Evaluate(VaultOperations.Read, "temp-1", Now.AddMinutes(4)).Allowed);
        Assert.False(policy.Evaluate(VaultOperations.Read, "temp-1", Now.AddMinutes(5)).Allowed);
        Assert.False(policy.Evaluate(VaultOperations.Write, "x", Now.AddMinutes(4)).Allowed);
        Assert.True(policy.Evaluate(VaultOperations.Write, "x", Now.AddMinutes(5)).Allowed);
    }

    [Fact]
    public void Operation_names_are_case_insensitive_and_star_means_all()
    {
        var policy = Policy(Allow("a", "READ", " Totp "), Allow("b", "*"));

        Assert.True(policy.Evaluate(VaultOperations.Read, "a", Now).Allowed);
        Assert.True(policy.Evaluate(VaultOperations.Totp, "a", Now).Allowed);
        Assert.False(policy.Evaluate(VaultOperations.Write, "a", Now).Allowed);
        Assert.True(policy.Evaluate(VaultOperations.Use, "b", Now).Allowed);
        Assert.True(policy.Evaluate(VaultOperations.Delete, "b", Now).Allowed);
    }

    [Fact]
    public void What_allowing_rules_add_is_combined_over_every_matching_rule()
    {
        var policy = Policy(
            Allow("*", "read"),
            new PolicyRule { Labels = "otp-*", Operations = ["read"], RevealSeed = true },
            new PolicyRule { Labels = "prod-*", Operations = ["read"], RequireJustification = true, ReadsPerMinute = 10 },
            new PolicyRule { Labels = "prod-db", Operations = ["read"], ReadsPerMinute = 3, Reveal = true });

        var plain = policy.Evaluate(VaultOperations.Read, "plain", Now);
        Assert.True(plain.Allowed);
        Assert.False(plain.RequireJustification);
        Assert.False(plain.RevealSeed);
        Assert.False(plain.Reveal);
        Assert.Null(plain.ReadsPerMinute);
        Assert.Null(plain.ReadLimits);

        Assert.True(policy.Evaluate(VaultOperations.Read, "otp-github", Now).RevealSeed);

        var db = policy.Evaluate(VaultOperations.Read, "prod-db", Now);
        Assert.True(db.RequireJustification);
        Assert.True(db.Reveal);
        Assert.Equal(3, db.ReadsPerMinute);
        Assert.Equal([new ReadLimit(2, 10), new ReadLimit(3, 3)], db.ReadLimits!);
        Assert.Equal([new ReadLimit(2, 10)], policy.Evaluate(VaultOperations.Read, "prod-api", Now).ReadLimits!);
    }

    [Fact]
    public void Allows_any_ignores_deny_rules_and_expired_rules()
    {
        var policy = Policy(Deny("*", "list"), new PolicyRule { Labels = "*", Operations = ["read"], ExpiresAt = Now });

        Assert.False(policy.AllowsAny(VaultOperations.List, Now));
        Assert.False(policy.AllowsAny(VaultOperations.Read, Now));
        Assert.True(policy.AllowsAny(VaultOperations.Read, Now.AddSeconds(-1)));
    }

    [Fact]
    public void Allowing_rules_for_use_exclude_denied_and_unmatched_rules()
    {
        var policy = Policy(
            new PolicyRule { Labels = "stripe-*", Operations = ["use"], AllowedHosts = ["api.stripe.com"] },
            new PolicyRule { Labels = "*", Operations = ["read"], AllowedHosts = ["example.com"] });

        var rules = policy.AllowingRules(VaultOperations.Use, "stripe-refund", Now);

        Assert.Single(rules);
        Assert.Equal(["api.stripe.com"], rules[0].AllowedHosts!);
        Assert.Empty(policy.AllowingRules(VaultOperations.Use, "aws-key", Now));
    }

    [Fact]
    public void Compiling_an_invalid_policy_is_invalid_input()
    {
        var e = Assert.Throws<AgentScopeException>(() => Policy(Allow("a/b", "read")));

        Assert.Equal(ErrorKind.InvalidInput, e.Kind);
    }
}
