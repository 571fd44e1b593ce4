namespace AgentScope;

/// <summary>What an administrator sees of an agent: never a key or a data key.</summary>
/// <param name="Id">The agent id.</param>
/// <param name="Name">Display name.</param>
/// <param name="Status">Active, Revoking or Revoked.</param>
/// <param name="CreatedAt">Creation time.</param>
/// <param name="RevokedAt">When revocation began.</param>
/// <param name="Policy">The label-level policy.</param>
/// <param name="Keys">The key ids with their creation and expiry.</param>
public sealed record AgentInfo(
    string Id,
    string? Name,
    AgentStatus Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt,
    AgentPolicy Policy,
    IReadOnlyList<ApiKeyInfo> Keys);

/// <summary>An API key's public facts.</summary>
/// <param name="KeyId">The key id embedded in the key.</param>
/// <param name="CreatedAt">Creation time.</param>
/// <param name="ExpiresAt">When it stops working (set for keys replaced by a rotation).</param>
public sealed record ApiKeyInfo(string KeyId, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);

/// <summary>A newly created agent and its API key, shown once.</summary>
/// <param name="Agent">The agent.</param>
/// <param name="ApiKey">The key; AgentScope keeps only its hash.</param>
public sealed record CreatedAgent(AgentInfo Agent, string ApiKey)
{
    /// <summary>Never shows the key.</summary>
    public override string ToString() => $"CreatedAgent {{ {Agent.Id} }}";
}
