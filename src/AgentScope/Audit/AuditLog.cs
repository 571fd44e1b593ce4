using System.Security.Cryptography;
using System.Text;
using AgentScope.Crypto;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentScope.Audit;

/// <summary>
/// The core's door to the audit sink: stamps time, computes value fingerprints, and applies the failure mode
/// (fail-closed by default: the caller gets "backend unavailable" and the operation is refused).
/// </summary>
internal sealed class AuditLog
{
    private readonly IAuditSink _sink;
    private readonly byte[] _fingerprintKey;
    private readonly TimeProvider _time;
    private readonly bool _bestEffort;
    private readonly ILogger<AuditLog> _logger;

    public AuditLog(IAuditSink sink, MasterKey masterKey, TimeProvider time, IOptions<AgentScopeOptions> options, ILogger<AuditLog> logger)
    {
        _sink = sink;
        _fingerprintKey = masterKey.FingerprintKey;
        _time = time;
        _bestEffort = options.Value.AuditBestEffort;
        _logger = logger;
    }

    public IAuditSink Sink => _sink;

    public DateTimeOffset Now => _time.GetUtcNow();

    public async ValueTask WriteAsync(string actor, string action, string? agentId, string? label, string outcome, AccessContext context,
        string? reason = null, string? fingerprint = null, string? detail = null, CancellationToken ct = default)
    {
        var e = new AuditEvent
        {
            Time = _time.GetUtcNow(),
            Actor = actor,
            Action = action,
            AgentId = agentId,
            Label = label,
            Outcome = outcome,
            Reason = reason,
            Justification = context.Justification,
            RequestId = context.RequestId,
            Fingerprint = fingerprint,
            Detail = detail ?? context.Surface,
        };
        try
        {
            await _sink.WriteAsync(e, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogError(ex, "audit sink failed for {Action} on {AgentId}/{Label}", action, agentId, label);
            if (!_bestEffort)
            {
                var failure = AgentScopeException.Unavailable("the audit sink cannot record the operation, so it was refused", ex);
                failure.Data[AuditFailureMarker] = true;
                throw failure;
            }
        }
    }

    private const string AuditFailureMarker = "agentscope.audit-failure";

    /// <summary>True for the error raised when the sink refused a record: recording that failure in the same sink is pointless.</summary>
    public static bool IsAuditFailure(Exception e) => e.Data.Contains(AuditFailureMarker);

    /// <summary>HMAC-SHA256 of a value under a key derived from the master key: equal values give equal fingerprints, nothing more.</summary>
    public string Fingerprint(string value) => Convert.ToHexStringLower(HMACSHA256.HashData(_fingerprintKey, Encoding.UTF8.GetBytes(value)));
}
