namespace AgentScope.Server;

/// <summary>Settings of the AgentScope server, validated once when first resolved.</summary>
public sealed class AgentScopeServerOptions
{
    /// <summary>
    /// Requests per minute one agent may make (a fixed one-minute window per agent, counted by this server).
    /// Beyond it the agent gets 429 with <c>Retry-After</c>. Default 200; 0 removes the limit.
    /// </summary>
    public int AgentRequestsPerMinute { get; set; } = 200;

    /// <summary>Requests per minute one admin key may make. Default 600; 0 removes the limit.</summary>
    public int AdminRequestsPerMinute { get; set; } = 600;

    /// <summary>
    /// Failed authentications per minute one client address may cause. Once reached, every request from that address
    /// gets 429 with <c>Retry-After</c> until the window ends. Default 60; 0 removes the limit.
    /// Behind a reverse proxy, use the forwarded-headers middleware so the client address is the caller's.
    /// </summary>
    public int FailedAuthenticationsPerMinute { get; set; } = 60;

    /// <summary>The largest request body accepted, in bytes; larger ones get 413. Default 256 KiB (a value is at most 64 KiB).</summary>
    public long MaxRequestBodyBytes { get; set; } = 256 * 1024;

    /// <summary>
    /// When set, replaces <see cref="AgentScopeOptions.IdentityCacheTtl"/>: how long this server trusts a cached identity.
    /// A revoke or policy change made through this server applies to its next request; other replicas see it within this time.
    /// </summary>
    public TimeSpan? IdentityCacheTtl { get; set; }

    /// <summary>How many labels one batch read may name. Default 256.</summary>
    public int MaxBatchLabels { get; set; } = 256;

    /// <summary>
    /// How many labels a batch read that names none (it reads every generic label the agent may list) may return.
    /// An agent that may list more gets 400 and must name its labels. Default 1,000.
    /// </summary>
    public int MaxBatchReadAllLabels { get; set; } = 1_000;

    /// <summary>When true (default), the server runs a sweep at start to finish interrupted revokes and delete orphans.</summary>
    public bool SweepOnStart { get; set; } = true;

    /// <summary>When true (default), <c>MapAgentScope</c> also maps the OpenAPI document at <c>/openapi/v1.json</c>.</summary>
    public bool MapOpenApi { get; set; } = true;

    /// <summary>Reports every problem together as one invalid-input error.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (AgentRequestsPerMinute < 0)
        {
            problems.Add("AgentRequestsPerMinute must not be negative (0 removes the limit)");
        }

        if (AdminRequestsPerMinute < 0)
        {
            problems.Add("AdminRequestsPerMinute must not be negative (0 removes the limit)");
        }

        if (FailedAuthenticationsPerMinute < 0)
        {
            problems.Add("FailedAuthenticationsPerMinute must not be negative (0 removes the limit)");
        }

        if (MaxRequestBodyBytes is < 1024 or > 64 << 20)
        {
            problems.Add("MaxRequestBodyBytes must be between 1 KiB and 64 MiB");
        }

        if (IdentityCacheTtl < TimeSpan.Zero)
        {
            problems.Add("IdentityCacheTtl must not be negative");
        }

        if (MaxBatchLabels is < 1 or > 10_000)
        {
            problems.Add("MaxBatchLabels must be between 1 and 10000");
        }

        if (MaxBatchReadAllLabels is < 1 or > 100_000)
        {
            problems.Add("MaxBatchReadAllLabels must be between 1 and 100000");
        }

        if (problems.Count > 0)
        {
            throw AgentScopeException.InvalidInput("invalid AgentScope server options: " + string.Join("; ", problems));
        }
    }
}
