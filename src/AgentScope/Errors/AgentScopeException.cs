namespace AgentScope;

/// <summary>
/// The root of every failure AgentScope reports on purpose. Messages name labels, agents and operations,
/// never a secret value or a key.
/// </summary>
public class AgentScopeException : Exception
{
    /// <summary>Creates an exception of the given kind.</summary>
    public AgentScopeException(ErrorKind kind, string message, Exception? innerException = null)
        : base(message, innerException) => Kind = kind;

    /// <summary>What went wrong, for mapping to status codes and exit codes.</summary>
    public ErrorKind Kind { get; }

    /// <summary>The stable, machine-readable error code (e.g. <c>not_found</c>).</summary>
    public string Code => ErrorCodes.Code(Kind);

    /// <summary>When set, how long the caller should wait before retrying.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>Invalid input.</summary>
    public static AgentScopeException InvalidInput(string message) => new(ErrorKind.InvalidInput, message);

    /// <summary>Not found.</summary>
    public static AgentScopeException NotFound(string message) => new(ErrorKind.NotFound, message);

    /// <summary>Access denied by policy.</summary>
    public static AgentScopeException Denied(string message) => new(ErrorKind.AccessDenied, message);

    /// <summary>Unauthenticated.</summary>
    public static AgentScopeException Unauthenticated(string message = "missing or invalid API key") => new(ErrorKind.Unauthenticated, message);

    /// <summary>Backend unavailable.</summary>
    public static AgentScopeException Unavailable(string message, Exception? inner = null, TimeSpan? retryAfter = null) =>
        new(ErrorKind.BackendUnavailable, message, inner) { RetryAfter = retryAfter ?? TimeSpan.FromSeconds(1) };
}
