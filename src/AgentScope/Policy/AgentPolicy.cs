namespace AgentScope;

/// <summary>
/// An agent's label-level policy: rules of label glob plus operations. A matching, unexpired deny rule wins over any allow;
/// with no matching allow rule the operation is denied.
/// </summary>
public sealed class AgentPolicy
{
    /// <summary>The rules, in no particular order (deny wins regardless of position).</summary>
    public List<PolicyRule> Rules { get; init; } = [];

    /// <summary>The default for a new agent: every operation on every one of its own labels.</summary>
    public static AgentPolicy FullControl() => new()
    {
        Rules = [new PolicyRule { Labels = "*", Operations = ["read", "write", "delete", "list", "totp", "use"] }],
    };

    /// <summary>Checks every rule and reports all problems together as one invalid-input error.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        for (var i = 0; i < Rules.Count; i++)
        {
            var r = Rules[i];
            if (r is null)
            {
                problems.Add($"rule {i}: empty");
                continue;
            }

            if (string.IsNullOrWhiteSpace(r.Labels) || r.Labels.Length > 256)
            {
                problems.Add($"rule {i}: 'labels' must be a glob of 1-256 characters");
            }
            else if (r.Labels.Any(c => !char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-' or '*' or '?')))
            {
                problems.Add($"rule {i}: 'labels' may hold only label characters and the wildcards '*' and '?'");
            }

            if (r.Operations is not { Count: > 0 })
            {
                problems.Add($"rule {i}: 'operations' must list at least one of read, write, delete, list, totp, use, *");
            }
            else
            {
                foreach (var op in r.Operations)
                {
                    try
                    {
                        VaultOperationNames.Parse(op ?? "");
                    }
                    catch (AgentScopeException e)
                    {
                        problems.Add($"rule {i}: {e.Message}");
                    }
                }
            }

            if (r.ReadsPerMinute is <= 0)
            {
                problems.Add($"rule {i}: 'readsPerMinute' must be positive");
            }

            foreach (var host in r.AllowedHosts ?? [])
            {
                if (!PolicyHosts.IsValidPattern(host))
                {
                    problems.Add($"rule {i}: allowed host {Names.Describe(host)} must be a host name or '*.domain'");
                }
            }
        }

        if (problems.Count > 0)
        {
            throw AgentScopeException.InvalidInput("invalid policy: " + string.Join("; ", problems));
        }
    }
}
