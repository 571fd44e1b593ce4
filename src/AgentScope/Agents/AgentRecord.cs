namespace AgentScope.Agents;

/// <summary>An agent identity as stored in the registry namespace of the backend.</summary>
internal sealed class AgentRecord
{
    public required string Id { get; set; }
    public string? Name { get; set; }
    public AgentStatus Status { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
    public AgentPolicy Policy { get; set; } = AgentPolicy.FullControl();
    public List<ApiKeyRecord> Keys { get; set; } = [];

    /// <summary>The agent's data key wrapped by the master key; null once revocation destroyed it.</summary>
    public string? WrappedDataKey { get; set; }

    public static string RegistryLabel(string agentId) => "agent." + agentId;
}

/// <summary>One API key: its id and the SHA-256 of its secret part, never the key.</summary>
internal sealed record ApiKeyRecord(string KeyId, string Hash, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);

/// <summary>The administrators' keys, in the registry namespace.</summary>
internal sealed class AdminKeysRecord
{
    public const string RegistryLabel = "admin-keys";
    public List<ApiKeyRecord> Keys { get; set; } = [];
}
