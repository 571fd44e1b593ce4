namespace AgentScope;

/// <summary>
/// The grammar of labels and agent ids, enforced here and nowhere else so that it is identical on every surface and backend.
/// </summary>
public static class Names
{
    /// <summary>The longest label accepted.</summary>
    public const int MaxLabelLength = 128;

    /// <summary>The longest agent id accepted.</summary>
    public const int MaxAgentIdLength = 63;

    /// <summary>
    /// True when <paramref name="label"/> is 1–128 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit.
    /// Case-sensitive; anything else (slashes, '%', whitespace, non-ASCII look-alikes) is refused.
    /// </summary>
    public static bool IsValidLabel(string? label)
    {
        if (string.IsNullOrEmpty(label) || label.Length > MaxLabelLength || !char.IsAsciiLetterOrDigit(label[0]))
        {
            return false;
        }

        foreach (var c in label)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// True when <paramref name="agentId"/> is a lowercase slug: 1–63 of a-z, 0-9 and '-', starting with a letter or digit,
    /// not ending with '-'. No '_' so that API keys can be split on it.
    /// </summary>
    public static bool IsValidAgentId(string? agentId)
    {
        if (string.IsNullOrEmpty(agentId) || agentId.Length > MaxAgentIdLength || agentId[^1] == '-' || agentId[0] == '-')
        {
            return false;
        }

        foreach (var c in agentId)
        {
            if (!char.IsAsciiDigit(c) && !char.IsAsciiLetterLower(c) && c != '-')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Throws an invalid-input error unless the label is in the grammar.</summary>
    public static string ValidateLabel(string? label) => IsValidLabel(label)
        ? label!
        : throw AgentScopeException.InvalidInput(
            $"invalid label {Describe(label)}: use 1-{MaxLabelLength} letters, digits, '.', '_' or '-', starting with a letter or digit");

    /// <summary>Throws an invalid-input error unless the agent id is in the grammar.</summary>
    public static string ValidateAgentId(string? agentId) => IsValidAgentId(agentId)
        ? agentId!
        : throw AgentScopeException.InvalidInput(
            $"invalid agent id {Describe(agentId)}: use 1-{MaxAgentIdLength} lowercase letters, digits or '-', starting with a letter or digit");

    // Labels are not secret, but untrusted: quote them, bound them and strip control characters before they reach a message.
    internal static string Describe(string? s)
    {
        if (s is null)
        {
            return "(none)";
        }

        var shown = s.Length > 64 ? s[..64] + "..." : s;
        return "'" + string.Concat(shown.Select(c => char.IsControl(c) ? '?' : c)) + "'";
    }
}
