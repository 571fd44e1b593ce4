using System.Text.Json.Serialization;

namespace AgentScope;

/// <summary>The life of an agent identity.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AgentStatus>))]
public enum AgentStatus
{
    /// <summary>Keys work; the agent reads and writes its labels.</summary>
    Active,
    /// <summary>Revocation has begun: keys fail, the data key is destroyed, entries are being deleted.</summary>
    Revoking,
    /// <summary>Revocation finished: no keys, no data key, no entries; only the audit trail remains.</summary>
    Revoked,
}
