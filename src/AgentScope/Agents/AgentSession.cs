namespace AgentScope.Agents;

/// <summary>An agent identity loaded and prepared for use: compiled policy and unwrapped data key. Cached for a short TTL.</summary>
internal sealed class AgentSession
{
    public AgentSession(AgentRecord record, PolicyEvaluator policy, byte[]? dataKey, DateTimeOffset loadedAt)
    {
        Record = record;
        Policy = policy;
        DataKey = dataKey;
        LoadedAt = loadedAt;
    }

    public AgentRecord Record { get; }
    public string AgentId => Record.Id;
    public PolicyEvaluator Policy { get; }
    public byte[]? DataKey { get; }
    public DateTimeOffset LoadedAt { get; }
    public bool IsActive => Record.Status == AgentStatus.Active;
}
