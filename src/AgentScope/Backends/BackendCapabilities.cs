namespace AgentScope.Backends;

/// <summary>What a backend can and cannot do, declared so the core and the docs can tell users the truth.</summary>
public sealed record BackendCapabilities
{
    /// <summary>The provider's name, for messages and <c>/readyz</c>.</summary>
    public required string Name { get; init; }

    /// <summary>The largest stored value the service accepts, in bytes (after encryption and encoding overhead).</summary>
    public required int MaxValueBytes { get; init; }

    /// <summary>True when enumerating one agent's entries is filtered by the service; false when it pages through everything.</summary>
    public required bool ServerSideFiltering { get; init; }

    /// <summary>True when the provider requires values to be encrypted by the core (the Local store).</summary>
    public bool RequiresEncryption { get; init; }

    /// <summary>How many calls the core may run at once against this backend (revoke, sweep).</summary>
    public int MaxConcurrency { get; init; } = 8;
}
