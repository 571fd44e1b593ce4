namespace AgentScope;

/// <summary>The small, stable family of failures every surface maps once: HTTP status, error code, CLI exit code.</summary>
public enum ErrorKind
{
    /// <summary>Malformed or out-of-grammar input (HTTP 400, exit 2).</summary>
    InvalidInput,
    /// <summary>Missing, malformed or unknown credential (HTTP 401, exit 4).</summary>
    Unauthenticated,
    /// <summary>Authenticated, but the policy does not allow the operation (HTTP 403, exit 4).</summary>
    AccessDenied,
    /// <summary>The agent is revoked or being revoked (HTTP 403, exit 4).</summary>
    AgentRevoked,
    /// <summary>The label or agent does not exist (HTTP 404, exit 3).</summary>
    NotFound,
    /// <summary>The resource already exists (HTTP 409, exit 2).</summary>
    Conflict,
    /// <summary>The value exceeds the size the backend accepts (HTTP 413, exit 2).</summary>
    ValueTooLarge,
    /// <summary>Too many requests; retry after a delay (HTTP 429, exit 5).</summary>
    RateLimited,
    /// <summary>The backend or the audit sink is unreachable or refused; retry later (HTTP 503, exit 5).</summary>
    BackendUnavailable,
    /// <summary>The backend rejected AgentScope's own credentials or permissions (HTTP 502, exit 5).</summary>
    BackendPermission,
    /// <summary>An outbound request made for the agent (injection) could not complete: connection, TLS, timeout (HTTP 502, exit 5).</summary>
    UpstreamFailed,
}
