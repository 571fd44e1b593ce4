namespace AgentScope;

/// <summary>Facts about the call carrying an operation, recorded in the audit trail.</summary>
public sealed record AccessContext
{
    /// <summary>No justification, no request id.</summary>
    public static AccessContext None { get; } = new();

    /// <summary>The caller's stated reason (e.g. the <c>X-AgentScope-Justification</c> header).</summary>
    public string? Justification { get; init; }

    /// <summary>The surface's request id, to correlate audit records with logs.</summary>
    public string? RequestId { get; init; }

    /// <summary>The surface (cli, rest, mcp), for the audit detail.</summary>
    public string? Surface { get; init; }
}
