namespace AgentScope.Audit;

/// <summary>Where audit events go. One method; a sink that cannot write throws, and the core then refuses the operation (fail-closed).</summary>
public interface IAuditSink
{
    /// <summary>Appends an event. Returns once it is as durable as the sink promises.</summary>
    ValueTask WriteAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default);
}

/// <summary>A sink whose trail can be read back and checked for tampering.</summary>
public interface IAuditTrail
{
    /// <summary>Events matching <paramref name="query"/>, oldest first.</summary>
    IAsyncEnumerable<AuditEvent> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default);

    /// <summary>Re-computes the hash chain and reports the first broken link, if any.</summary>
    ValueTask<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default);
}

/// <summary>A filter over the audit trail; null fields match everything.</summary>
public sealed record AuditQuery
{
    /// <summary>Only this agent.</summary>
    public string? AgentId { get; init; }
    /// <summary>Only this label.</summary>
    public string? Label { get; init; }
    /// <summary>Only this action.</summary>
    public string? Action { get; init; }
    /// <summary>Only this outcome.</summary>
    public string? Outcome { get; init; }
    /// <summary>At or after.</summary>
    public DateTimeOffset? Since { get; init; }
    /// <summary>Before.</summary>
    public DateTimeOffset? Until { get; init; }
    /// <summary>At most this many (the newest ones when <see cref="Newest"/> is set).</summary>
    public int Limit { get; init; } = 100;
    /// <summary>When true, the last <see cref="Limit"/> matching events (still returned oldest first).</summary>
    public bool Newest { get; init; }
    /// <summary>
    /// Only events whose <see cref="AuditEvent.Seq"/> is greater: keyset paging forwards (pass the last seq of the
    /// previous page).
    /// </summary>
    public long? AfterSeq { get; init; }
    /// <summary>
    /// Only events whose <see cref="AuditEvent.Seq"/> is smaller: keyset paging backwards with <see cref="Newest"/>
    /// (pass the first seq of the previous page).
    /// </summary>
    public long? BeforeSeq { get; init; }
}

/// <summary>
/// A sink that can tell whether it can record right now, for readiness probes (<c>/readyz</c>). Optional, like
/// <see cref="IAuditTrail"/>: a host asks for it and treats its absence as healthy.
/// </summary>
public interface IAuditHealth
{
    /// <summary>
    /// Completes when the sink can record events; throws <see cref="AgentScopeException"/> of kind
    /// <see cref="ErrorKind.BackendUnavailable"/>, saying why, when it cannot. Cheap enough to call every few seconds.
    /// </summary>
    ValueTask CheckHealthAsync(CancellationToken cancellationToken = default);
}

/// <summary>The result of checking an audit trail's hash chain.</summary>
/// <param name="Valid">True when every link holds.</param>
/// <param name="Events">How many events were checked.</param>
/// <param name="Problem">What is wrong and where (line or sequence number), when not valid.</param>
public sealed record AuditVerification(bool Valid, long Events, string? Problem);

/// <summary>Discards events; for benchmarks and for deployments that audit elsewhere.</summary>
public sealed class NullAuditSink : IAuditSink, IAuditHealth
{
    /// <summary>The shared instance.</summary>
    public static NullAuditSink Instance { get; } = new();

    /// <inheritdoc />
    public ValueTask WriteAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    /// <summary>Always healthy.</summary>
    public ValueTask CheckHealthAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
}
