namespace AgentScope.Client;

/// <summary>Settings of <see cref="AgentScopeClient"/>.</summary>
public sealed class AgentScopeClientOptions
{
    /// <summary>The server, e.g. <c>http://127.0.0.1:8787</c>. Default: the <c>AGENTSCOPE_URL</c> environment variable.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>The agent's API key. Default: the <c>AGENTSCOPE_API_KEY</c> environment variable. Never logged.</summary>
    public string? ApiKey { get; set; }

    /// <summary>How many times a transient failure (connection error, timeout, 429, 503) is retried. Default 3.</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>The first retry delay; later ones grow exponentially with jitter, or follow the server's Retry-After. Default 200 ms.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Per-attempt timeout. Default 10 s.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long an injected request (<c>POST /v0/request</c>) may take in all: longer than the server's own limit on the
    /// upstream exchange (<c>Injection:Timeout</c>, 30 s by default), so that its answer, not this one, says why. Default 60 s.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Fills unset values from the environment and reports every problem together.</summary>
    public void ApplyDefaultsAndValidate() => ApplyDefaultsAndValidate(Environment.GetEnvironmentVariable);

    internal void ApplyDefaultsAndValidate(Func<string, string?> environment)
    {
        if (Endpoint is null && environment("AGENTSCOPE_URL") is { Length: > 0 } url &&
            Uri.TryCreate(url, UriKind.Absolute, out var fromEnv))
        {
            Endpoint = fromEnv;
        }

        if (string.IsNullOrWhiteSpace(ApiKey))
        {
            ApiKey = environment("AGENTSCOPE_API_KEY")?.Trim();
        }

        var problems = new List<string>();
        if (Endpoint is null || !Endpoint.IsAbsoluteUri || (Endpoint.Scheme != Uri.UriSchemeHttp && Endpoint.Scheme != Uri.UriSchemeHttps))
        {
            problems.Add("Endpoint must be an absolute http(s) URL (or set AGENTSCOPE_URL)");
        }

        if (string.IsNullOrWhiteSpace(ApiKey))
        {
            problems.Add("ApiKey is required (or set AGENTSCOPE_API_KEY)");
        }

        if (MaxRetries is < 0 or > 10)
        {
            problems.Add("MaxRetries must be between 0 and 10");
        }

        if (RetryDelay < TimeSpan.Zero || AttemptTimeout <= TimeSpan.Zero || RequestTimeout <= TimeSpan.Zero)
        {
            problems.Add("RetryDelay must not be negative, and AttemptTimeout and RequestTimeout must be positive");
        }

        if (problems.Count > 0)
        {
            throw AgentScopeException.InvalidInput("invalid AgentScope client options: " + string.Join("; ", problems));
        }
    }
}
