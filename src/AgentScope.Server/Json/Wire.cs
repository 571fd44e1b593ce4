using System.Text.Json.Serialization;
using AgentScope.Audit;

namespace AgentScope.Server.Json;

// The wire shapes of the REST API. Requests are parsed strictly (see ServerJson); records that carry a value or a key
// override ToString so that logging one by mistake shows neither.

/// <summary><c>POST /v0/vault</c>.</summary>
internal sealed class StoreRequest
{
    public required string Label { get; init; }
    public required string Value { get; init; }

    /// <summary><c>generic</c> (default) or <c>totp</c>.</summary>
    public string? Kind { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }

    public override string ToString() => $"StoreRequest {{ {Label} }}";
}

/// <summary><c>POST /v0/vault/batch-get</c>.</summary>
internal sealed class BatchGetRequest
{
    /// <summary>
    /// The labels to read (1 to MaxBatchLabels, default 256). Absent or null: every generic label the agent may list
    /// (TOTP labels are skipped: their seeds are never returned), at most MaxBatchReadAllLabels (default 1,000).
    /// </summary>
    public List<string>? Labels { get; init; }
}

/// <summary><c>POST /v0/agents</c>.</summary>
internal sealed class CreateAgentRequest
{
    public required string Id { get; init; }
    public string? Name { get; init; }
    public AgentPolicy? Policy { get; init; }
}

/// <summary><c>POST /v0/agents/{id}/keys</c> (body optional).</summary>
internal sealed class RotateKeyRequest
{
    /// <summary>How long the agent's existing keys keep working; default the core's KeyRotationGrace (1 hour), 0 ends them now.</summary>
    public long? GraceSeconds { get; init; }
}

/// <summary><c>POST /v0/sweep</c> (body optional).</summary>
internal sealed class SweepRequest
{
    public bool DryRun { get; init; }
}

internal sealed record ErrorBody(string Code, string Message);

internal sealed record ErrorResponse(ErrorBody Error);

internal sealed record StoreResponse(string Label, long Version, DateTimeOffset UpdatedAt);

internal sealed record SecretResponse(string Label, string Value, string Kind, long Version, DateTimeOffset UpdatedAt, DateTimeOffset? ExpiresAt)
{
    public static SecretResponse From(SecretEntry e) =>
        new(e.Label, e.Value.Reveal(), KindNames.Name(e.Kind), e.Version, e.UpdatedAt, e.ExpiresAt);

    public override string ToString() => $"SecretResponse {{ {Label} v{Version} }}";
}

internal sealed record LabelResponse(string Label, string Kind, long Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? ExpiresAt);

internal sealed record LabelsResponse(IReadOnlyList<LabelResponse> Labels);

internal sealed record TotpResponse(string Code, int Remaining);

internal sealed record BatchError(string Label, ErrorBody Error);

internal sealed record BatchGetResponse(IReadOnlyList<SecretResponse> Values, IReadOnlyList<BatchError> Errors);

internal sealed record CreatedAgentResponse(string Id, string ApiKey)
{
    public override string ToString() => $"CreatedAgentResponse {{ {Id} }}";
}

internal sealed record ApiKeyResponse(string ApiKey)
{
    public override string ToString() => "ApiKeyResponse { *** }";
}

internal sealed record ApiKeyInfoResponse(string KeyId, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);

internal sealed record AgentResponse(
    string Id, string? Name, string Status, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt, AgentPolicy Policy, IReadOnlyList<ApiKeyInfoResponse> Keys)
{
    public static AgentResponse From(AgentInfo a) => new(a.Id, a.Name, a.Status switch
    {
        AgentStatus.Active => "active",
        AgentStatus.Revoking => "revoking",
        _ => "revoked",
    }, a.CreatedAt, a.RevokedAt, a.Policy, a.Keys.Select(k => new ApiKeyInfoResponse(k.KeyId, k.CreatedAt, k.ExpiresAt)).ToList());
}

internal sealed record AgentsResponse(IReadOnlyList<AgentResponse> Agents);

internal sealed record RevokeResponse(string Id, int Destroyed);

internal sealed record SweepResponse(IReadOnlyList<string> RevokesFinished, int OrphansFound, int Deleted, bool DryRun);

/// <summary>A page of the audit trail (<c>GET /v0/audit</c>).</summary>
/// <param name="Events">The events, oldest first, each with its seq.</param>
/// <param name="Next">
/// When the query had <c>after</c> and more events match: the <c>after</c> of the next page (the seq of this page's last
/// event). Null otherwise (written, not omitted), so a client pages until it is null.
/// </param>
internal sealed record AuditEventsResponse(
    IReadOnlyList<AuditEvent> Events,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] long? Next);

internal sealed record HealthResponse(string Status);

/// <summary>The wire names of <see cref="SecretKind"/>.</summary>
internal static class KindNames
{
    public static string Name(SecretKind kind) => kind == SecretKind.Totp ? "totp" : "generic";

    public static SecretKind Parse(string? name) => name switch
    {
        null or "generic" => SecretKind.Generic,
        "totp" => SecretKind.Totp,
        _ => throw AgentScopeException.InvalidInput($"kind must be \"generic\" or \"totp\", not {Names.Describe(name)}"),
    };
}
