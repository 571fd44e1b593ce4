namespace AgentScope.Injection;

/// <summary>Limits of <see cref="InjectedRequestExecutor"/>, validated once when it is built.</summary>
public sealed class InjectionOptions
{
    /// <summary>The whole exchange (connect, redirects, reading the body) must finish within this. Default 30 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The most response body returned; the rest is dropped and the response is flagged truncated. Default 1 MiB.</summary>
    public int MaxResponseBytes { get; set; } = 1 << 20;

    /// <summary>The largest request body accepted, in UTF-8 bytes before substitution. Default 1 MiB.</summary>
    public int MaxRequestBodyBytes { get; set; } = 1 << 20;

    /// <summary>
    /// How many redirects are followed. Only redirects to the same scheme, host and port are followed; one to another
    /// origin is refused. Default 5; zero follows none (a redirect is then returned as it is).
    /// </summary>
    public int MaxRedirects { get; set; } = 5;

    /// <summary>The <c>User-Agent</c> sent when the request sets none.</summary>
    public string UserAgent { get; set; } = "AgentScope";

    /// <summary>Reports every problem together as one invalid-input error.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromMinutes(10))
        {
            problems.Add("Timeout must be between 0 and 10 minutes");
        }

        if (MaxResponseBytes is <= 0 or > 64 << 20)
        {
            problems.Add("MaxResponseBytes must be between 1 and 64 MiB");
        }

        if (MaxRequestBodyBytes is <= 0 or > 64 << 20)
        {
            problems.Add("MaxRequestBodyBytes must be between 1 and 64 MiB");
        }

        if (MaxRedirects is < 0 or > 20)
        {
            problems.Add("MaxRedirects must be between 0 and 20");
        }

        if (string.IsNullOrWhiteSpace(UserAgent) || UserAgent.Any(char.IsControl))
        {
            problems.Add("UserAgent must be a non-empty header value");
        }

        if (problems.Count > 0)
        {
            throw AgentScopeException.InvalidInput("invalid injection options: " + string.Join("; ", problems));
        }
    }
}
