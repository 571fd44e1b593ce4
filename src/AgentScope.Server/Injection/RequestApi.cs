using AgentScope.Injection;
using AgentScope.Server.Http;
using AgentScope.Server.Json;
using AgentScope.Server.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing;

namespace AgentScope.Server.Injection;

/// <summary>
/// <c>POST /v0/request</c>, with an agent key: credential injection for agents that do not speak MCP. Same body and same
/// rules as MCP <c>vault.request</c> (<see cref="InjectedRequestExecutor"/>): each label goes only to a host its policy
/// allows, the response comes back with every injected value scrubbed, and each use is audited without the value.
/// </summary>
internal static class RequestApi
{
    public static RouteHandlerBuilder MapRequestApi(this IEndpointRouteBuilder routes) =>
        routes.MapPost("/v0/request", SendAsync)
            .WithTags("Injection")
            .WithMetadata(AgentScopeEndpoint.Agent)
            .RequireRateLimiting(RateLimitPolicies.Agent)
            .RequiresBearerKey("agent key")
            .WithName("InjectedRequest")
            .WithSummary("Perform an HTTP request with {{secret:LABEL}} / {{totp:LABEL}} filled in; the response comes back scrubbed of every injected value")
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                operation.Description += " The upstream's status, whatever it is, is in the 200 body; AgentScope's own refusals use the error shape: " +
                    "400 invalid request (placeholder in the host, refused header, no placeholder), 403 a label not allowed for that host or a redirect " +
                    "to another origin, 404 unknown label, 502 upstream_failed (unreachable, TLS, timeout).";
                return Task.CompletedTask;
            })
            .AcceptsJson<InjectedRequestBody>()
            .Produces<InjectedResponse>()
            .ProducesErrors(400, 401, 403, 404, 413, 429, 502, 503);

    // An upstream 4xx or 5xx is a 200 here: it is the upstream's answer, carried in "status". (A plain comment: the OpenAPI
    // generator would take an XML summary for the operation's.)
    internal static async Task<JsonHttpResult<InjectedResponse>> SendAsync(HttpContext context, [FromServices] InjectedRequestExecutor executor,
        CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync(context, ServerJson.Default.InjectedRequestBody).ConfigureAwait(false);
        var request = InjectedRequestJson.Create(body.Method, body.Url, body.Headers, body.Query, body.Body);
        var response = await executor.SendAsync(context.Vault(), request, cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(response, ServerJson.Default.InjectedResponse);
    }
}
