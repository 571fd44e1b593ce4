using AgentScope.Agents;
using AgentScope.Audit;
using AgentScope.Backends;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentScope;

/// <summary>What every vault, the admin and the authenticator share: backend, registry, audit, limits and clock.</summary>
internal sealed class VaultCore
{
    private readonly TimeProvider _time;
    private readonly ILogger<VaultCore> _logger;

    public VaultCore(ISecretBackend backend, AgentRegistry registry, AuditLog audit, ReadRateLimiter rateLimiter, TimeProvider time,
        IOptions<AgentScopeOptions> options, ILogger<VaultCore> logger)
    {
        Backend = backend;
        Registry = registry;
        Audit = audit;
        RateLimiter = rateLimiter;
        _time = time;
        _logger = logger;
        Options = options.Value;
        MaxValueBytes = Options.MaxValueBytes;
        Encrypt = Options.ClientSideEncryption || backend.Capabilities.RequiresEncryption;
    }

    public ISecretBackend Backend { get; }
    public AgentRegistry Registry { get; }
    public AuditLog Audit { get; }
    public ReadRateLimiter RateLimiter { get; }
    public AgentScopeOptions Options { get; }
    public int MaxValueBytes { get; }

    /// <summary>True when values are encrypted with the agent's data key before they reach the backend.</summary>
    public bool Encrypt { get; }

    public DateTimeOffset Now => _time.GetUtcNow();

    public int Concurrency => Options.MaxConcurrency ?? Backend.Capabilities.MaxConcurrency;

    /// <summary>Records a failure without letting a failing sink hide the original error.</summary>
    public async ValueTask AuditBestEffortAsync(string actor, string action, string? agentId, string? label, string outcome, AccessContext context, string? reason,
        string? detail = null)
    {
        try
        {
            await Audit.WriteAsync(actor, action, agentId, label, outcome, context, reason, detail: detail, ct: CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "could not audit a failed {Action}", action);
        }
    }
}
