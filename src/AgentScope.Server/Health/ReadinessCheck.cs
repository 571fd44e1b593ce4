using AgentScope.Audit;
using AgentScope.Backends;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentScope.Server.Health;

/// <summary>
/// What <c>/readyz</c> checks: the backend (<see cref="ISecretBackend.CheckHealthAsync"/>) and, when the audit sink
/// offers it, the sink (<see cref="IAuditHealth"/>; a sink without it is taken as ready and fails closed on its first
/// write instead). Logs when readiness changes, not on every probe.
/// </summary>
internal sealed partial class ReadinessCheck
{
    private readonly ISecretBackend _backend;
    private readonly IAuditHealth? _audit;
    private readonly ILogger<ReadinessCheck> _logger;
    private int _notReady; // 1 after a failed check, until one passes

    public ReadinessCheck(ISecretBackend backend, IServiceProvider services, ILogger<ReadinessCheck> logger)
    {
        _backend = backend;
        _audit = services.GetService<IAuditHealth>();
        _logger = logger;
    }

    /// <summary>Null when ready; otherwise why not, as an <see cref="AgentScopeException"/> whose message names the part that failed.</summary>
    public async Task<AgentScopeException?> CheckAsync(CancellationToken cancellationToken)
    {
        var failure = await CheckBackendAsync(cancellationToken).ConfigureAwait(false)
            ?? await CheckAuditAsync(cancellationToken).ConfigureAwait(false);
        if (failure is null)
        {
            if (Interlocked.Exchange(ref _notReady, 0) == 1)
            {
                LogReadyAgain(_logger);
            }
        }
        else if (Interlocked.Exchange(ref _notReady, 1) == 0)
        {
            LogNotReady(_logger, failure.Code, failure.Message);
        }

        return failure;
    }

    private async Task<AgentScopeException?> CheckBackendAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _backend.CheckHealthAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (AgentScopeException e)
        {
            return new AgentScopeException(e.Kind, $"the {_backend.Capabilities.Name} backend failed its health check: {e.Message}", e)
            {
                RetryAfter = e.RetryAfter,
            };
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The type only: a client library's message may quote a request.
            return AgentScopeException.Unavailable($"the {_backend.Capabilities.Name} backend failed its health check ({e.GetType().Name})", e);
        }
    }

    private async Task<AgentScopeException?> CheckAuditAsync(CancellationToken cancellationToken)
    {
        if (_audit is null)
        {
            return null;
        }

        try
        {
            await _audit.CheckHealthAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (AgentScopeException e)
        {
            const string SinkPrefix = "audit sink unavailable: "; // what the sinks' own messages start with
            var reason = e.Message.StartsWith(SinkPrefix, StringComparison.Ordinal) ? e.Message[SinkPrefix.Length..] : e.Message;
            return new AgentScopeException(e.Kind, $"the audit sink cannot record: {reason}", e) { RetryAfter = e.RetryAfter };
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return AgentScopeException.Unavailable($"the audit sink cannot record ({e.GetType().Name})", e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "not ready ({Code}): {Reason}")]
    private static partial void LogNotReady(ILogger logger, string code, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "ready again: the backend and the audit sink passed their checks")]
    private static partial void LogReadyAgain(ILogger logger);
}
