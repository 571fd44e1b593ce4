namespace AgentScope.Providers.AwsSecretsManager;

internal static class Display
{
    // Names, regions and profiles are not secret but may be untrusted: quote them, bound them and strip control characters.
    internal static string Quote(string? s)
    {
        if (s is null)
        {
            return "(none)";
        }

        var shown = s.Length > 64 ? s[..64] + "..." : s;
        return "'" + string.Concat(shown.Select(c => char.IsControl(c) ? '?' : c)) + "'";
    }
}
