namespace AgentScope;

/// <summary>The one place where <see cref="ErrorKind"/> becomes an HTTP status, an error code and a CLI exit code.</summary>
public static class ErrorCodes
{
    /// <summary>The stable error code of a kind, as it appears in JSON error bodies.</summary>
    public static string Code(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidInput => "invalid_input",
        ErrorKind.Unauthenticated => "unauthenticated",
        ErrorKind.AccessDenied => "access_denied",
        ErrorKind.AgentRevoked => "agent_revoked",
        ErrorKind.NotFound => "not_found",
        ErrorKind.Conflict => "conflict",
        ErrorKind.ValueTooLarge => "value_too_large",
        ErrorKind.RateLimited => "rate_limited",
        ErrorKind.BackendUnavailable => "backend_unavailable",
        ErrorKind.BackendPermission => "backend_permission_denied",
        ErrorKind.UpstreamFailed => "upstream_failed",
        _ => "error",
    };

    /// <summary>The HTTP status code of a kind.</summary>
    public static int HttpStatus(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidInput => 400,
        ErrorKind.Unauthenticated => 401,
        ErrorKind.AccessDenied or ErrorKind.AgentRevoked => 403,
        ErrorKind.NotFound => 404,
        ErrorKind.Conflict => 409,
        ErrorKind.ValueTooLarge => 413,
        ErrorKind.RateLimited => 429,
        ErrorKind.BackendPermission or ErrorKind.UpstreamFailed => 502,
        ErrorKind.BackendUnavailable => 503,
        _ => 500,
    };

    /// <summary>The CLI exit code of a kind: 2 invalid input, 3 not found, 4 unauthenticated/denied/revoked, 5 backend or upstream unavailable.</summary>
    public static int ExitCode(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidInput or ErrorKind.Conflict or ErrorKind.ValueTooLarge => 2,
        ErrorKind.NotFound => 3,
        ErrorKind.Unauthenticated or ErrorKind.AccessDenied or ErrorKind.AgentRevoked => 4,
        ErrorKind.RateLimited or ErrorKind.BackendUnavailable or ErrorKind.BackendPermission or ErrorKind.UpstreamFailed => 5,
        _ => 1,
    };

    /// <summary>Parses an error code back into its kind (used by clients).</summary>
    public static ErrorKind? FromCode(string? code)
    {
        foreach (var kind in Enum.GetValues<ErrorKind>())
        {
            if (Code(kind) == code)
            {
                return kind;
            }
        }

        return null;
    }
}
