namespace AgentScope;

/// <summary>Outbound host patterns: an exact host name, or <c>*.example.com</c> for any subdomain (not the apex).</summary>
internal static class PolicyHosts
{
    public static bool IsValidPattern(string? pattern)
    {
        if (string.IsNullOrWhiteSpace(pattern) || pattern.Length > 253)
        {
            return false;
        }

        var host = pattern.StartsWith("*.", StringComparison.Ordinal) ? pattern[2..] : pattern;
        return host.Length > 0 && Uri.CheckHostName(host) != UriHostNameType.Unknown && !host.Contains('*');
    }

    public static bool Matches(string pattern, string host)
    {
        if (pattern.StartsWith("*.", StringComparison.Ordinal))
        {
            return host.Length > pattern.Length - 1 && host.EndsWith(pattern[1..], StringComparison.OrdinalIgnoreCase);
        }

        return string.Equals(pattern, host, StringComparison.OrdinalIgnoreCase);
    }
}
