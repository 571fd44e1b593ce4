using AgentScope.Audit;
using AgentScope.Backends;
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
            .WithSummary("Readiness: the backend is reachable with AgentScope's credentials and the audit log is in place")
            .Produces<HealthResponse>()
            .ProducesErrors(503);

        return group;
    }

    internal static async Task<JsonHttpResult<HealthResponse>> ReadyAsync(ISecretBackend backend, IAuditSink audit, HttpContext context)
    {
        try
        {
            await backend.CheckHealthAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not AgentScopeException and not OperationCanceledException)
        {
            throw AgentScopeException.Unavailable($"the {backend.Capabilities.Name} backend failed its health check", e);
        }

        // Cheap for the default sink: its file must still be where it writes. Other sinks fail closed on their first write.
        if (audit is JsonLinesAuditSink file && !File.Exists(file.FilePath))
        {
            throw AgentScopeException.Unavailable("the audit log file is missing (moved or deleted while in use)");
        }

        return TypedResults.Json(Ready, ServerJson.Default.HealthResponse);
    }
}
