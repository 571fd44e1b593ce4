using System.Globalization;
using AgentScope.Audit;
using AgentScope.Server.Http;
using AgentScope.Server.Json;
using AgentScope.Server.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Server.Admin;

/// <summary>The admin API, with an admin key: agents, policy, keys, revoke, sweep and the audit trail (never values).</summary>
internal static class AdminApi
{
    private const int MaxAuditLimit = 10_000;
    private static readonly TimeSpan MaxGrace = TimeSpan.FromDays(365);

    public static RouteGroupBuilder MapAdminApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v0")
            .WithTags("Admin")
            .WithMetadata(AgentScopeEndpoint.Admin)
            .RequireRateLimiting(RateLimitPolicies.Admin)
            .RequiresBearerKey("admin key");

        group.MapPost("/agents", CreateAgentAsync)
            .WithName("CreateAgent")
            .WithSummary("Create an agent; its API key is in the answer, once")
            .AcceptsJson<CreateAgentRequest>()
            .Produces<CreatedAgentResponse>(StatusCodes.Status201Created)
            .ProducesErrors(400, 401, 403, 409, 413, 429, 503);

        group.MapGet("/agents", ListAgentsAsync)
            .WithName("ListAgents")
            .WithSummary("Every agent, revoked ones included")
            .Produces<AgentsResponse>()
            .ProducesErrors(401, 403, 429, 503);

        group.MapGet("/agents/{id}", GetAgentAsync)
            .WithName("GetAgent")
            .WithSummary("One agent: status, key ids, policy")
            .Produces<AgentResponse>()
            .ProducesErrors(400, 401, 403, 404, 429, 503);

        group.MapPut("/agents/{id}/policy", SetPolicyAsync)
            .WithName("SetAgentPolicy")
            .WithSummary("Replace an agent's label policy")
            .AcceptsJson<AgentPolicy>()
            .Produces<AgentResponse>()
            .ProducesErrors(400, 401, 403, 404, 413, 429, 503);

        group.MapPost("/agents/{id}/keys", RotateKeyAsync)
            .WithName("RotateAgentKey")
            .WithSummary("Issue a new API key (in the answer, once); existing keys keep working for graceSeconds")
            .AcceptsJson<RotateKeyRequest>(required: false)
            .Produces<ApiKeyResponse>()
            .ProducesErrors(400, 401, 403, 404, 413, 429, 503);

        group.MapDelete("/agents/{id}", RevokeAsync)
            .WithName("RevokeAgent")
            .WithSummary("Revoke an agent: its keys fail at once and every one of its secrets is destroyed")
            .Produces<RevokeResponse>()
            .ProducesErrors(400, 401, 403, 404, 409, 429, 503);

        group.MapPost("/sweep", SweepAsync)
            .WithName("Sweep")
            .WithSummary("Finish interrupted revokes and delete entries whose agent is not active")
            .AcceptsJson<SweepRequest>(required: false)
            .Produces<SweepResponse>()
            .ProducesErrors(400, 401, 403, 413, 429, 503);

        group.MapGet("/audit", QueryAuditAsync)
            .WithName("QueryAudit")
            .WithSummary("Audit events matching the filters, oldest first, never values: the newest ones, or with after=<seq> the " +
                "ones after it, paged forward by passing each page's next as after until next is null")
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                foreach (var parameter in operation.Parameters ?? [])
                {
                    parameter.Description ??= AuditParameterDescriptions.GetValueOrDefault(parameter.Name ?? "");
                }

                return Task.CompletedTask;
            })
            .Produces<AuditEventsResponse>()
            .ProducesErrors(400, 401, 403, 404, 429, 503);

        return group;
    }

    internal static async Task<JsonHttpResult<CreatedAgentResponse>> CreateAgentAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var request = await RequestBody.ReadAsync(context, ServerJson.Default.CreateAgentRequest).ConfigureAwait(false);
        var created = await context.Admin().CreateAgentAsync(request.Id, request.Name, request.Policy, cancellationToken).ConfigureAwait(false);
        context.Response.Headers.Location = $"{context.Request.PathBase}/v0/agents/{created.Agent.Id}";
        return TypedResults.Json(new CreatedAgentResponse(created.Agent.Id, created.ApiKey), ServerJson.Default.CreatedAgentResponse,
            statusCode: StatusCodes.Status201Created);
    }

    internal static async Task<JsonHttpResult<AgentsResponse>> ListAgentsAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var agents = await context.Admin().ListAgentsAsync(cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(new AgentsResponse(agents.Select(AgentResponse.From).ToList()), ServerJson.Default.AgentsResponse);
    }

    internal static async Task<JsonHttpResult<AgentResponse>> GetAgentAsync(string id, HttpContext context, CancellationToken cancellationToken)
    {
        var agent = await context.Admin().GetAgentAsync(id, cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(AgentResponse.From(agent), ServerJson.Default.AgentResponse);
    }

    internal static async Task<JsonHttpResult<AgentResponse>> SetPolicyAsync(string id, HttpContext context, CancellationToken cancellationToken)
    {
        var policy = await RequestBody.ReadAsync(context, ServerJson.Default.AgentPolicy).ConfigureAwait(false);
        var agent = await context.Admin().SetPolicyAsync(id, policy, cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(AgentResponse.From(agent), ServerJson.Default.AgentResponse);
    }

    internal static async Task<JsonHttpResult<ApiKeyResponse>> RotateKeyAsync(string id, HttpContext context, CancellationToken cancellationToken)
    {
        var request = await RequestBody.ReadOptionalAsync(context, ServerJson.Default.RotateKeyRequest).ConfigureAwait(false);
        TimeSpan? grace = null;
        if (request?.GraceSeconds is { } seconds)
        {
            grace = seconds >= 0 && seconds <= MaxGrace.TotalSeconds
                ? TimeSpan.FromSeconds(seconds)
                : throw AgentScopeException.InvalidInput($"graceSeconds must be between 0 and {MaxGrace.TotalSeconds:0}");
        }

        var key = await context.Admin().RotateKeyAsync(id, grace, cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(new ApiKeyResponse(key), ServerJson.Default.ApiKeyResponse);
    }

    // Not cancelled when the caller leaves: a revoke should finish. If the server stops first, the agent stays Revoking
    // (its keys already fail) and the next start's sweep finishes the job.
    internal static async Task<JsonHttpResult<RevokeResponse>> RevokeAsync(string id, HttpContext context)
    {
        var destroyed = await context.Admin().RevokeAsync(id, CancellationToken.None).ConfigureAwait(false);
        return TypedResults.Json(new RevokeResponse(id, destroyed), ServerJson.Default.RevokeResponse);
    }

    internal static async Task<JsonHttpResult<SweepResponse>> SweepAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var request = await RequestBody.ReadOptionalAsync(context, ServerJson.Default.SweepRequest).ConfigureAwait(false);
        var report = await context.Admin().SweepAsync(request?.DryRun ?? false, CancellationToken.None).ConfigureAwait(false);
        return TypedResults.Json(new SweepResponse(report.RevokesFinished, report.OrphansFound, report.Deleted, report.DryRun), ServerJson.Default.SweepResponse);
    }

    // Keyset paging on seq, so a page is as cheap at the end of a long trail as at its start (the PostgreSQL sink
    // reads it through its primary key) and no event is skipped or repeated while others are appended. One event more
    // than the limit is read to tell whether a next page exists.
    internal static async Task<JsonHttpResult<AuditEventsResponse>> QueryAuditAsync(HttpContext context,
        [FromQuery] string? agent, [FromQuery] string? label, [FromQuery] string? action, [FromQuery] string? outcome,
        [FromQuery] string? since, [FromQuery] string? until, [FromQuery] string? limit, [FromQuery] string? after,
        CancellationToken cancellationToken)
    {
        _ = context.Admin();
        var trail = context.RequestServices.GetService<IAuditTrail>()
            ?? throw AgentScopeException.NotFound("this server's audit sink cannot be read back");
        if (agent is not null)
        {
            Names.ValidateAgentId(agent);
        }

        if (label is not null)
        {
            Names.ValidateLabel(label);
        }

        var afterSeq = Seq(after, nameof(after));
        var pageSize = Limit(limit);
        var query = new AuditQuery
        {
            AgentId = agent,
            Label = label,
            Action = Word(action, nameof(action)),
            Outcome = Word(outcome, nameof(outcome)),
            Since = Time(since, nameof(since)),
            Until = Time(until, nameof(until)),
            Limit = afterSeq is null ? pageSize : pageSize + 1,
            Newest = afterSeq is null,
            AfterSeq = afterSeq,
        };
        var events = new List<AuditEvent>(Math.Min(query.Limit, 1024));
        await foreach (var e in trail.QueryAsync(query, cancellationToken).ConfigureAwait(false))
        {
            events.Add(e);
        }

        long? next = null;
        if (afterSeq is not null && events.Count > pageSize)
        {
            events.RemoveAt(events.Count - 1);
            next = events[^1].Seq;
        }

        return TypedResults.Json(new AuditEventsResponse(events, next), ServerJson.Default.AuditEventsResponse);
    }

    private static readonly Dictionary<string, string> AuditParameterDescriptions = new(StringComparer.Ordinal)
    {
        ["agent"] = "Only this agent's events.",
        ["label"] = "Only events on this label.",
        ["action"] = "Only this action (read, write, delete, list, totp, request, authenticate, agent.create, agent.policy, agent.rotate_key, agent.revoke, sweep, init).",
        ["outcome"] = "Only this outcome (ok, denied, not_found, error).",
        ["since"] = "Only events at or after this ISO 8601 time.",
        ["until"] = "Only events before this ISO 8601 time.",
        ["limit"] = $"At most this many events, 1 to {MaxAuditLimit} (default 100).",
        ["after"] = "Page forward: only events whose seq is greater (0 for the start of the trail). Pass the previous page's next.",
    };

    private static long? Seq(string? value, string name) =>
        value is null ? null
        : long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
        : throw AgentScopeException.InvalidInput($"{name} must be an audit event's seq: a whole number, 0 or more");

    private static string? Word(string? value, string name) =>
        value is null || value.Length is > 0 and <= 64 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')
            ? value
            : throw AgentScopeException.InvalidInput($"{name} must be an action or outcome name such as read, agent.revoke, ok, denied");

    private static DateTimeOffset? Time(string? value, string name) =>
        value is null ? null
        : DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t
        : throw AgentScopeException.InvalidInput($"{name} must be an ISO 8601 time, e.g. 2025-01-31T12:00:00Z");

    private static int Limit(string? value) =>
        value is null ? 100
        : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= MaxAuditLimit ? n
        : throw AgentScopeException.InvalidInput($"limit must be a whole number from 1 to {MaxAuditLimit}");
}
