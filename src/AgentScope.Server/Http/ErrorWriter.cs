using System.Globalization;
using AgentScope.Server.Json;
using Microsoft.AspNetCore.Http;

namespace AgentScope.Server.Http;

/// <summary>Writes the one error shape, <c>{"error":{"code","message"}}</c>, with <c>Retry-After</c> on 429 and 503.</summary>
internal static class ErrorWriter
{
    /// <summary>The status and code of an <see cref="AgentScopeException"/>, from <see cref="ErrorCodes"/>.</summary>
    public static Task WriteAsync(HttpContext context, AgentScopeException e) =>
        WriteAsync(context, ErrorCodes.HttpStatus(e.Kind), e.Code, e.Message, e.RetryAfter);

    public static Task WriteAsync(HttpContext context, int status, string code, string message, TimeSpan? retryAfter = null)
    {
        var response = context.Response;
        response.StatusCode = status;
        if (status is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable)
        {
            SetRetryAfter(response, retryAfter ?? TimeSpan.FromSeconds(1));
        }

        return response.WriteAsJsonAsync(new ErrorResponse(new ErrorBody(code, message)), ServerJson.Default.ErrorResponse, contentType: null, context.RequestAborted);
    }

    /// <summary>Whole seconds, rounded up, at least one.</summary>
    public static void SetRetryAfter(HttpResponse response, TimeSpan wait) =>
        response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
}
