using AgentScope.Server.Http;
using AgentScope.Server.Json;
using AgentScope.Server.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AgentScope.Server.Vault;

/// <summary>
/// The agent API, <c>/v0/vault</c>, with an agent key. Every handler acts on the vault of the key's agent: no route
/// names an agent, so another agent's labels are unaddressable.
/// </summary>
internal static class VaultApi
{
    public static RouteGroupBuilder MapVaultApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v0/vault")
            .WithTags("Vault")
            .WithMetadata(AgentScopeEndpoint.Agent)
            .RequireRateLimiting(RateLimitPolicies.Agent)
            .RequiresBearerKey("agent key");

        group.MapPost("", StoreAsync)
            .WithName("StoreSecret")
            .WithSummary("Create or overwrite a label (201 on create, 200 on overwrite)")
            .AcceptsJson<StoreRequest>()
            .Produces<StoreResponse>(StatusCodes.Status201Created)
            .Produces<StoreResponse>()
            .ProducesErrors(400, 401, 403, 413, 429, 503);

        group.MapGet("", ListAsync)
            .WithName("ListSecrets")
            .WithSummary("The agent's labels with metadata, never values")
            .Produces<LabelsResponse>()
            .ProducesErrors(401, 403, 429, 503);

        group.MapPost("/batch-get", BatchGetAsync)
            .WithName("BatchGetSecrets")
            .WithSummary("Read several labels in one round trip: values for the allowed ones, an error for each other one")
            .AcceptsJson<BatchGetRequest>()
            .Produces<BatchGetResponse>()
            .ProducesErrors(400, 401, 403, 413, 429, 503);

        group.MapGet("/{label}", GetAsync)
            .WithName("GetSecret")
            .WithSummary("Read a label's value")
            .AcceptsRevealToHeader()
            .Produces<SecretResponse>()
            .ProducesErrors(400, 401, 403, 404, 429, 503);

        group.MapDelete("/{label}", DeleteAsync)
            .WithName("DeleteSecret")
            .WithSummary("Delete a label and every version of it")
            .ProducesErrors(400, 401, 403, 404, 429, 503);

        group.MapGet("/{label}/totp", TotpAsync)
            .WithName("GetTotpCode")
            .WithSummary("The current code of a TOTP label; the seed never leaves the server")
            .Produces<TotpResponse>()
            .ProducesErrors(400, 401, 403, 404, 429, 503);

        return group;
    }

    internal static async Task<JsonHttpResult<StoreResponse>> StoreAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var request = await RequestBody.ReadAsync(context, ServerJson.Default.StoreRequest).ConfigureAwait(false);
        var options = new StoreOptions { Kind = KindNames.Parse(request.Kind), ExpiresAt = request.ExpiresAt };
        var result = await context.Vault().StoreAsync(request.Label, new SecretValue(request.Value), options, cancellationToken).ConfigureAwait(false);
        if (result.Created)
        {
            context.Response.Headers.Location = $"{context.Request.PathBase}/v0/vault/{result.Label}";
        }

        return TypedResults.Json(new StoreResponse(result.Label, result.Version, result.UpdatedAt), ServerJson.Default.StoreResponse,
            statusCode: result.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }

    internal static async Task<JsonHttpResult<SecretResponse>> GetAsync(string label, HttpContext context, CancellationToken cancellationToken)
    {
        var entry = await RevealTo.ReadAsync(context, label, cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(SecretResponse.From(entry), ServerJson.Default.SecretResponse);
    }

    internal static async Task<NoContent> DeleteAsync(string label, HttpContext context, CancellationToken cancellationToken)
    {
        await context.Vault().DeleteAsync(label, cancellationToken).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    internal static async Task<JsonHttpResult<LabelsResponse>> ListAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var labels = await context.Vault().ListAsync(cancellationToken).ConfigureAwait(false);
        var items = labels.Select(l => new LabelResponse(l.Label, KindNames.Name(l.Kind), l.Version, l.CreatedAt, l.UpdatedAt, l.ExpiresAt)).ToList();
        return TypedResults.Json(new LabelsResponse(items), ServerJson.Default.LabelsResponse);
    }

    internal static async Task<JsonHttpResult<TotpResponse>> TotpAsync(string label, HttpContext context, CancellationToken cancellationToken)
    {
        var code = await context.Vault().GetTotpAsync(label, cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(new TotpResponse(code.Code, code.Remaining), ServerJson.Default.TotpResponse);
    }

    /// <summary>
    /// Each label is read (and audited) by the core as a separate read. What concerns one label (not found, denied by policy,
    /// over its read rate, invalid) is reported for that label; what concerns the whole call (the key, the backend) fails it.
    /// </summary>
    internal static async Task<JsonHttpResult<BatchGetResponse>> BatchGetAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var request = await RequestBody.ReadAsync(context, ServerJson.Default.BatchGetRequest).ConfigureAwait(false);
        var max = context.RequestServices.GetRequiredService<IOptions<AgentScopeServerOptions>>().Value.MaxBatchLabels;
        if (request.Labels.Count is 0 || request.Labels.Count > max)
        {
            throw AgentScopeException.InvalidInput($"labels must list 1 to {max} labels");
        }

        if (request.Labels.Contains(null!))
        {
            throw AgentScopeException.InvalidInput("labels must be strings");
        }

        var vault = context.Vault();
        var values = new List<SecretResponse>(request.Labels.Count);
        var errors = new List<BatchError>();
        foreach (var label in request.Labels)
        {
            try
            {
                values.Add(SecretResponse.From(await vault.GetAsync(label, cancellationToken).ConfigureAwait(false)));
            }
            catch (AgentScopeException e) when (e.Kind is ErrorKind.NotFound or ErrorKind.AccessDenied or ErrorKind.InvalidInput or ErrorKind.RateLimited)
            {
                errors.Add(new BatchError(label, new ErrorBody(e.Code, e.Message)));
            }
        }

        return TypedResults.Json(new BatchGetResponse(values, errors), ServerJson.Default.BatchGetResponse);
    }
}
