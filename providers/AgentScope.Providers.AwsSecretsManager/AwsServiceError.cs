namespace AgentScope.Providers.AwsSecretsManager;

/// <summary>
/// An error answer of the Secrets Manager API: its <c>__type</c>, the HTTP status and the request id. Internal: the backend
/// turns every one into an <see cref="AgentScopeException"/>. The service's own message is not kept, so nothing the service
/// echoes can reach a log.
/// </summary>
internal sealed class AwsServiceError : Exception
{
    internal AwsServiceError(string operation, string type, int status, string? requestId)
        : base($"secretsmanager:{operation} failed with {type} (HTTP {status}{(requestId is null ? string.Empty : ", request id " + requestId)})")
    {
        Operation = operation;
        Type = type;
        Status = status;
        RequestId = requestId;
    }

    internal string Operation { get; }

    internal string Type { get; }

    internal int Status { get; }

    internal string? RequestId { get; }

    /// <summary>Throttling and server-side failures: worth another attempt after a pause.</summary>
    internal bool IsTransient => Status >= 500 || Type is "ThrottlingException" or "Throttling" or "ThrottledException" or "TooManyRequestsException"
        or "RequestLimitExceeded" or "InternalServiceError" or "InternalFailure" or "ServiceUnavailable" or "ServiceUnavailableException"
        or "RequestTimeout" or "RequestTimeoutException" or "PriorRequestNotComplete";

    /// <summary>AWS refused the identity or its permissions (not the request).</summary>
    internal bool IsPermission => Type is "AccessDeniedException" or "AccessDenied" or "UnrecognizedClientException" or "InvalidClientTokenId"
        or "ExpiredTokenException" or "ExpiredToken" or "InvalidSignatureException" or "SignatureDoesNotMatch" or "IncompleteSignature"
        or "MissingAuthenticationToken" or "MissingAuthenticationTokenException" or "NotAuthorized" or "DecryptionFailure" or "EncryptionFailure"
        or "KMSAccessDeniedException" or "KMSDisabledException" or "KMSInvalidStateException";

    /// <summary>The credentials themselves were refused, as opposed to a permission missing from them.</summary>
    internal bool IsCredentialProblem => Type is "UnrecognizedClientException" or "InvalidClientTokenId" or "ExpiredTokenException" or "ExpiredToken"
        or "InvalidSignatureException" or "SignatureDoesNotMatch" or "IncompleteSignature" or "MissingAuthenticationToken" or "MissingAuthenticationTokenException";

    /// <summary>
    /// Normalises an awsJson error type: it may carry a namespace (<c>com.amazonaws.secretsmanager#X</c>) and a suffix after ':'.
    /// </summary>
    internal static string NormaliseType(string? raw)
    {
        if (string.IsNullOrWhiteSpace(raw))
        {
            return "UnknownError";
        }

        var type = raw.Trim();
        var hash = type.LastIndexOf('#');
        if (hash >= 0)
        {
            type = type[(hash + 1)..];
        }

        var colon = type.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            type = type[..colon];
        }

        // The type names an error class; keep it to characters such names use, so nothing else slips into a message.
        return type.Length is > 0 and <= 100 && type.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-') ? type : "UnknownError";
    }
}
