namespace AgentScope.Audit;

/// <summary>
/// One access, allowed or not. Never holds a value: writes carry <see cref="Fingerprint"/>, a keyed HMAC of the value,
/// so an auditor can tell which writes set the same value without learning it.
/// </summary>
public sealed record AuditEvent
{
    /// <summary>
    /// The event's position in the trail (1, 2, 3, ...), set when it is read back from a trail and ignored when it is
    /// written (the sink assigns it). Pass the last one seen as <see cref="AuditQuery.AfterSeq"/> to page.
    /// </summary>
    public long? Seq { get; init; }

    /// <summary>When it happened.</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>Who acted: <c>agent:&lt;id&gt;</c>, <c>admin:&lt;keyid&gt;</c> or <c>system</c>.</summary>
    public required string Actor { get; init; }

    /// <summary>What was attempted (see <see cref="AuditActions"/>).</summary>
    public required string Action { get; init; }

    /// <summary>The agent whose namespace was addressed, if any.</summary>
    public string? AgentId { get; init; }

    /// <summary>The label addressed, if any.</summary>
    public string? Label { get; init; }

    /// <summary><c>ok</c>, <c>denied</c>, <c>not_found</c> or <c>error</c> (see <see cref="AuditOutcomes"/>).</summary>
    public required string Outcome { get; init; }

    /// <summary>Why it was denied or failed; never a value.</summary>
    public string? Reason { get; init; }

    /// <summary>The caller's stated justification, when given.</summary>
    public string? Justification { get; init; }

    /// <summary>The request id of the surface that carried the call.</summary>
    public string? RequestId { get; init; }

    /// <summary>HMAC-SHA256 of the written value (hex, keyed by AgentScope), for writes only.</summary>
    public string? Fingerprint { get; init; }

    /// <summary>Extra, non-secret detail (e.g. a count, an outbound host, a status).</summary>
    public string? Detail { get; init; }
}

/// <summary>The actions AgentScope audits.</summary>
public static class AuditActions
{
#pragma warning disable CS1591 // the names say it
    public const string Read = "read";
    public const string Write = "write";
    public const string Delete = "delete";
    public const string List = "list";
    public const string Totp = "totp";
    public const string Request = "request";
    public const string Authenticate = "authenticate";
    public const string AgentCreate = "agent.create";
    public const string AgentPolicy = "agent.policy";
    public const string AgentRotateKey = "agent.rotate_key";
    public const string AgentRevoke = "agent.revoke";
    public const string Sweep = "sweep";
    public const string Init = "init";
#pragma warning restore CS1591
}

/// <summary>The outcomes of an audited action.</summary>
public static class AuditOutcomes
{
#pragma warning disable CS1591
    public const string Ok = "ok";
    public const string Denied = "denied";
    public const string NotFound = "not_found";
    public const string Error = "error";
#pragma warning restore CS1591
}
