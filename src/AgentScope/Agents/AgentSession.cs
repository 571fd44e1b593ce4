using AgentScope.Crypto;

namespace AgentScope.Agents;

/// <summary>An agent identity loaded and prepared for use: compiled policy and unwrapped data key. Cached for a short TTL.</summary>
internal sealed class AgentSession
{
    public AgentSession(AgentRecord record, PolicyEvaluator policy, byte[]? dataKey, DateTimeOffset loadedAt)
    {
        Record = record;
        Policy = policy;
        Cipher = dataKey is null ? null : new DataKeyCipher(dataKey);
        LoadedAt = loadedAt;
    }

    public AgentRecord Record { get; }
    public string AgentId => Record.Id;
    public PolicyEvaluator Policy { get; }

    /// <summary>The agent's data key, for its entries; null once revoked.</summary>
    public DataKeyCipher? Cipher { get; }

    public DateTimeOffset LoadedAt { get; }
    public bool IsActive => Record.Status == AgentStatus.Active;

    /// <summary>
    /// The cache dropped this session: release what it holds natively. Calls still using it keep working; they are
    /// only slower, so a race between a call and the cache replacing the session is harmless.
    /// </summary>
    public void Retire() => Cipher?.Dispose();
}
