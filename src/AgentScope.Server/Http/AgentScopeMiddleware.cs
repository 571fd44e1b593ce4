using System.Diagnostics;
using AgentScope.Server.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentScope.Server.Http;

/// <summary>
/// The AgentScope part of the pipeline, for AgentScope endpoints and anything under <c>/v0</c>:
/// request id, body size limit, authentication of the Bearer key (with the per-client failed-authentication limit),
/// and the global error handler: <see cref="AgentScopeException"/> through <see cref="ErrorCodes"/>, bad HTTP to 400/413,
/// anything else to a generic 500. No error body or log line holds a value, a key or the Authorization header.
/// </summary>
internal sealed partial class AgentScopeMiddleware
{
    public const string RequestIdHeader = "X-Request-Id";
    public const string JustificationHeader = "X-AgentScope-Justification";
    private const int MaxJustificationLength = 1000;
    private const string BearerPrefix = "Bearer ";

    // What ErrorCodes.Code gives a failure that is no ErrorKind: the code of a 500.
    private const string UnexpectedCode = "error";

    private readonly RequestDelegate _next;
    private readonly AgentScopeAuthenticator _authenticator;
    private readonly FailedAuthenticationLimiter _failedAuth;
    private readonly AgentScopeServerOptions _options;
    private readonly ILogger<AgentScopeMiddleware> _logger;

    public AgentScopeMiddleware(RequestDelegate next, AgentScopeAuthenticator authenticator, FailedAuthenticationLimiter failedAuth,
        IOptions<AgentScopeServerOptions> options, ILogger<AgentScopeMiddleware> logger)
    {
        _next = next;
        _authenticator = authenticator;
        _failedAuth = failedAuth;
        _options = options.Value;
        _logger = logger;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint()?.Metadata.GetMetadata<AgentScopeEndpoint>();
        if (endpoint is null && !context.Request.Path.StartsWithSegments("/v0", StringComparison.Ordinal))
        {
            await _next(context).ConfigureAwait(false);
            return;
        }

        var started = Stopwatch.GetTimestamp();
        var requestId = ResolveRequestId(context);
        var response = context.Response;
        response.Headers[RequestIdHeader] = requestId;
        response.Headers.CacheControl = "no-store";
        try
        {
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
            {
                bodySize.MaxRequestBodySize = _options.MaxRequestBodyBytes;
            }

            if (endpoint is { Caller: not CallerKind.Anonymous })
            {
                await AuthenticateAsync(context, endpoint.Caller, requestId).ConfigureAwait(false);
            }

            await _next(context).ConfigureAwait(false);

            // Routing's own 404 and 405 carry no body: give them the error shape too.
            if (!response.HasStarted && response.StatusCode >= 400 && response.ContentType is null && response.ContentLength is null)
            {
                await WriteBareStatusAsync(context).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (!response.HasStarted)
        {
            await HandleAsync(context, e, requestId).ConfigureAwait(false);
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            LogRequest(_logger, context.Request.Method, context.Request.Path.Value, response.StatusCode, requestId,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    private async Task AuthenticateAsync(HttpContext context, CallerKind caller, string requestId)
    {
        if (_failedAuth.MayBlock && _failedAuth.BlockedFor(ClientAddress(context)) is { } wait)
        {
            throw new AgentScopeException(ErrorKind.RateLimited,
                $"too many failed authentications from this address; retry in {Math.Ceiling(wait.TotalSeconds)} s") { RetryAfter = wait };
        }

        var justification = context.Request.Headers[JustificationHeader].ToString();
        if (justification.Length > MaxJustificationLength)
        {
            throw AgentScopeException.InvalidInput($"{JustificationHeader} must be at most {MaxJustificationLength} characters");
        }

        var access = new AccessContext
        {
            Justification = justification.Length > 0 ? justification : null,
            RequestId = requestId,
            Surface = "rest",
        };
        var key = BearerKey(context.Request);
        try
        {
            if (caller == CallerKind.Agent)
            {
                context.Features.Set(await _authenticator.AuthenticateAgentAsync(key, access, context.RequestAborted).ConfigureAwait(false));
            }
            else
            {
                context.Features.Set(await _authenticator.AuthenticateAdminAsync(key, access, context.RequestAborted).ConfigureAwait(false));
            }
        }
        catch (AgentScopeException e) when (e.Kind is ErrorKind.Unauthenticated or ErrorKind.AgentRevoked)
        {
            _failedAuth.RecordFailure(ClientAddress(context));
            throw;
        }
    }

    private static string ClientAddress(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    // The key is never logged or echoed: a malformed header is simply "no key".
    private static string? BearerKey(HttpRequest request)
    {
        var header = request.Headers.Authorization;
        if (header.Count != 1)
        {
            return null;
        }

        var value = header[0];
        return value is not null && value.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase) ? value[BearerPrefix.Length..].Trim() : null;
    }

    // A caller's own request id is kept when it is short and plain, so that their logs and the audit trail line up.
    private static string ResolveRequestId(HttpContext context)
    {
        var inbound = context.Request.Headers[RequestIdHeader];
        if (inbound.Count == 1 && inbound[0] is { Length: > 0 and <= 64 } id && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
        {
            context.TraceIdentifier = id;
            return id;
        }

        return context.TraceIdentifier;
    }

    private static Task WriteBareStatusAsync(HttpContext context) => context.Response.StatusCode switch
    {
        StatusCodes.Status404NotFound => ErrorWriter.WriteAsync(context, 404, ErrorCodes.Code(ErrorKind.NotFound), "no such endpoint"),
        StatusCodes.Status405MethodNotAllowed => ErrorWriter.WriteAsync(context, 405, "method_not_allowed", $"{context.Request.Method} is not allowed here"),
        var status => ErrorWriter.WriteAsync(context, status, status >= 500 ? UnexpectedCode : ErrorCodes.Code(ErrorKind.InvalidInput),
            status >= 500 ? "unexpected error" : "bad request"),
    };

    private async Task HandleAsync(HttpContext context, Exception e, string requestId)
    {
        context.Response.Clear();
        context.Response.Headers[RequestIdHeader] = requestId;
        context.Response.Headers.CacheControl = "no-store";
        switch (e)
        {
            case AgentScopeException a:
                if (a.Kind is ErrorKind.BackendUnavailable or ErrorKind.BackendPermission)
                {
                    LogUnavailable(_logger, a.Code, requestId, a.Message);
                }

                await ErrorWriter.WriteAsync(context, a).ConfigureAwait(false);
                break;
            case BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }:
                await ErrorWriter.WriteAsync(context, 413, ErrorCodes.Code(ErrorKind.ValueTooLarge),
                    $"the request body is larger than {_options.MaxRequestBodyBytes} bytes").ConfigureAwait(false);
                break;
            case BadHttpRequestException bad:
                await ErrorWriter.WriteAsync(context, bad.StatusCode is >= 400 and < 500 ? bad.StatusCode : 400,
                    ErrorCodes.Code(ErrorKind.InvalidInput), "bad request").ConfigureAwait(false);
                break;
            case OperationCanceledException when context.RequestAborted.IsCancellationRequested:
                break; // the client left; nobody reads an answer
            default:
                // The type and stack only: a framework's message may quote input, and input may be a value.
                LogUnexpected(_logger, e.GetType().FullName, requestId, e.StackTrace);
                await ErrorWriter.WriteAsync(context, 500, UnexpectedCode,
                    $"unexpected error (request id {requestId})").ConfigureAwait(false);
                break;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Method} {Path} -> {Status} (request {RequestId}, {ElapsedMs:0.000} ms)")]
    private static partial void LogRequest(ILogger logger, string method, string? path, int status, string requestId, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Code} for request {RequestId}: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string code, string requestId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "unexpected {ExceptionType} in request {RequestId}\n{StackTrace}")]
    private static partial void LogUnexpected(ILogger logger, string? exceptionType, string requestId, string? stackTrace);
}
