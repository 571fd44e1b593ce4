namespace AgentScope.Injection;

/// <summary>
/// What a refused reveal to a model says next, on every surface that asks for one (MCP <c>vault.get</c>, REST
/// <c>GET /v0/vault/{label}</c> with <c>X-AgentScope-Reveal-To: model</c>): how to use the value without seeing it.
/// </summary>
internal static class RevealHint
{
    public const string Text =
        "Use vault.request (over REST: POST /v0/request) with {{secret:LABEL}} in a header, the URL or the body instead: " +
        "AgentScope sends the value to a host the policy allows without showing it to you.";

    /// <summary>The message of a refusal with the hint after it, once.</summary>
    public static string Append(string message) =>
        message.Contains(Text, StringComparison.Ordinal) ? message : $"{message.TrimEnd('.')}. {Text}";
}
