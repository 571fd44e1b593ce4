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
            .WithSummary("Read several labels in one round trip: values for the allowed ones, an error for each other one. " +
                "Without labels (absent, null or no body): every generic label the agent may list (TOTP labels skipped), at most 1,000 by default")
            .AcceptsJson<BatchGetRequest>(required: false)
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

    // Each label is read (and audited) by the core as a separate read, a few at a time, and answered in the order asked.
    // What concerns one label (not found, denied by policy, over its read rate, invalid) is reported for that label; what
    // concerns the whole call (the key, the backend, the audit sink) fails it. With no labels (absent, null, or no
    // body at all) it reads every generic label the agent may list: TOTP labels are skipped, since their seeds are never
    // returned, and more than MaxBatchReadAllLabels labels is refused.
    internal static async Task<JsonHttpResult<BatchGetResponse>> BatchGetAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var request = await RequestBody.ReadOptionalAsync(context, ServerJson.Default.BatchGetRequest).ConfigureAwait(false);
        var options = context.RequestServices.GetRequiredService<IOptions<AgentScopeServerOptions>>().Value;
        var vault = context.Vault();
        IReadOnlyList<string> labels;
        if (request?.Labels is { } named)
        {
            if (named.Count is 0 || named.Count > options.MaxBatchLabels)
            {
                throw AgentScopeException.InvalidInput($"labels must list 1 to {options.MaxBatchLabels} labels, or be left out to read every label");
            }

            if (named.Contains(null!))
            {
                throw AgentScopeException.InvalidInput("labels must be strings");
            }

            labels = named;
        }
        else
        {
            labels = await ReadableLabelsAsync(vault, options.MaxBatchReadAllLabels, options.MaxBatchLabels, cancellationToken).ConfigureAwait(false);
        }

        var results = new (SecretResponse? Value, BatchError? Error)[labels.Count];
        await Parallel.ForAsync(0, labels.Count, new ParallelOptions { MaxDegreeOfParallelism = BatchReadParallelism, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                try
                {
                    results[i] = (SecretResponse.From(await vault.GetAsync(labels[i], ct).ConfigureAwait(false)), null);
                }
                catch (AgentScopeException e) when (e.Kind is ErrorKind.NotFound or ErrorKind.AccessDenied or ErrorKind.InvalidInput or ErrorKind.RateLimited)
                {
                    results[i] = (null, new BatchError(labels[i], new ErrorBody(e.Code, e.Message)));
                }
            }).ConfigureAwait(false);

        var values = results.Where(r => r.Value is not null).Select(r => r.Value!).ToList();
        var errors = results.Where(r => r.Error is not null).Select(r => r.Error!).ToList();
        return TypedResults.Json(new BatchGetResponse(values, errors), ServerJson.Default.BatchGetResponse);
    }

    // Enough to overlap backend round trips and let the audit sink commit reads together, few enough to stay fair to
    // other requests.
    private const int BatchReadParallelism = 8;

    /// <summary>The generic labels the agent may list (one audited list), refused beyond <paramref name="max"/>.</summary>
    private static async Task<IReadOnlyList<string>> ReadableLabelsAsync(AgentVault vault, int max, int maxNamed, CancellationToken cancellationToken)
    {
        var listed = await vault.ListAsync(cancellationToken).ConfigureAwait(false);
        var labels = listed.Where(l => l.Kind == SecretKind.Generic).Select(l => l.Label).ToList();
        return labels.Count <= max
            ? labels
            : throw AgentScopeException.InvalidInput(
                $"this agent may list {labels.Count} labels, more than the {max} a batch read without labels returns; name the labels, at most {maxNamed} per call");
    }
}
