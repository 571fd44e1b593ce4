using AgentScope.Server.Http;
using AgentScope.Server.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace AgentScope.Server.Health;

/// <summary><c>/healthz</c> (the process answers) and <c>/readyz</c> (the backend and the audit sink can be used). No key needed.</summary>
internal static class HealthApi
{
    private static readonly HealthResponse Ok = new("ok");
    private static readonly HealthResponse Ready = new("ready");

    public static RouteGroupBuilder MapHealthApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("").WithTags("Health").WithMetadata(AgentScopeEndpoint.Anonymous);

        group.MapGet("/healthz", () => TypedResults.Json(Ok, ServerJson.Default.HealthResponse))
            .WithName("Liveness")
            .WithSummary("Liveness: the server process answers")
            .Produces<HealthResponse>();

        group.MapGet("/readyz", ReadyAsync)
            .WithName("Readiness")
            .WithSummary("Readiness: the backend is reachable with AgentScope's credentials and the audit sink can record; " +
                "otherwise 503 with Retry-After and the error code and reason of the first part that failed")
            .Produces<HealthResponse>()
            .ProducesErrors(503);

        return group;
    }

    // Always 503 when not ready, whatever the failure's kind (a refused credential is 502 elsewhere), so probes and
    // load balancers need to know one status; the body keeps the failure's own code.
    internal static async Task<Results<JsonHttpResult<HealthResponse>, JsonHttpResult<ErrorResponse>>> ReadyAsync(
        ReadinessCheck readiness, HttpContext context)
    {
        if (await readiness.CheckAsync(context.RequestAborted).ConfigureAwait(false) is not { } failure)
        {
            return TypedResults.Json(Ready, ServerJson.Default.HealthResponse);
        }

        ErrorWriter.SetRetryAfter(context.Response, failure.RetryAfter ?? TimeSpan.FromSeconds(1));
        return TypedResults.Json(new ErrorResponse(new ErrorBody(failure.Code, failure.Message)), ServerJson.Default.ErrorResponse,
            statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}
