namespace AgentScope;

/// <summary>One rule's <c>readsPerMinute</c>: every read of a label the rule covers counts against it.</summary>
internal readonly record struct ReadLimit(int RuleIndex, int PerMinute);

/// <summary>
/// The answer to "may this agent do this to that label now?", with what the allowing rules add. <c>ReadLimits</c> holds the
/// limit of every matching allow rule that sets one: a read must fit within all of them.
/// </summary>
internal readonly record struct PolicyDecision(bool Allowed, string? Reason, bool RequireJustification, bool RevealSeed, bool Reveal, IReadOnlyList<ReadLimit>? ReadLimits)
{
    public static PolicyDecision Deny(string reason) => new(false, reason, false, false, false, null);

    /// <summary>The tightest of <see cref="ReadLimits"/>, if any.</summary>
    public int? ReadsPerMinute => ReadLimits is { Count: > 0 } limits ? limits.Min(l => l.PerMinute) : null;
}

/// <summary>An <see cref="AgentPolicy"/> compiled once per identity load, so evaluation is a scan over flat arrays.</summary>
internal sealed class PolicyEvaluator
{
    private readonly Rule[] _rules;

    private sealed record Rule(int Index, string Glob, bool Deny, VaultOperations Ops, DateTimeOffset? ExpiresAt, PolicyRule Source);

    public PolicyEvaluator(AgentPolicy policy)
    {
        policy.Validate();
        _rules = policy.Rules.Select((r, i) => new Rule(i, r.Labels, r.Effect == PolicyEffect.Deny,
            r.Operations.Aggregate(VaultOperations.None, (acc, op) => acc | VaultOperationNames.Parse(op)), r.ExpiresAt, r)).ToArray();
    }

    public PolicyDecision Evaluate(VaultOperations op, string label, DateTimeOffset now)
    {
        Rule? allow = null;
        bool requireJustification = false, revealSeed = false, reveal = false;
        List<ReadLimit>? readLimits = null;
        foreach (var rule in _rules)
        {
            if ((rule.Ops & op) == 0 || (rule.ExpiresAt is { } exp && exp <= now) || !Glob.IsMatch(rule.Glob, label))
            {
                continue;
            }

            if (rule.Deny)
            {
                return PolicyDecision.Deny($"rule {rule.Index} denies {VaultOperationNames.Name(op)} on '{label}'");
            }

            allow ??= rule;
            requireJustification |= rule.Source.RequireJustification;
            revealSeed |= rule.Source.RevealSeed;
            reveal |= rule.Source.Reveal;
            if (rule.Source.ReadsPerMinute is { } rpm)
            {
                (readLimits ??= []).Add(new ReadLimit(rule.Index, rpm));
            }
        }

        return allow is null
            ? PolicyDecision.Deny($"no rule allows {VaultOperationNames.Name(op)} on '{label}'")
            : new PolicyDecision(true, null, requireJustification, revealSeed, reveal, readLimits);
    }

    /// <summary>True when some unexpired allow rule grants <paramref name="op"/> on some label.</summary>
    public bool AllowsAny(VaultOperations op, DateTimeOffset now) => _rules.Any(r => !r.Deny && (r.Ops & op) != 0 && (r.ExpiresAt is not { } e || e > now));

    /// <summary>The hosts allowed for injecting <paramref name="label"/>, from every unexpired allow rule granting <c>use</c>.</summary>
    public IReadOnlyList<PolicyRule> AllowingRules(VaultOperations op, string label, DateTimeOffset now) =>
        _rules.Where(r => !r.Deny && (r.Ops & op) != 0 && (r.ExpiresAt is not { } e || e > now) && Glob.IsMatch(r.Glob, label))
            .Select(r => r.Source).ToArray();
}
