using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentScope.Server;

/// <summary>
/// At start, finishes revokes a previous run left <see cref="AgentStatus.Revoking"/> and deletes orphaned entries.
/// A failure is logged, not fatal: the server still starts, and <c>/readyz</c> says whether the backend works.
/// </summary>
internal sealed partial class StartupSweep : IHostedService
{
    private readonly AgentScopeAuthenticator _authenticator;
    private readonly AgentScopeServerOptions _options;
    private readonly ILogger<StartupSweep> _logger;

    public StartupSweep(AgentScopeAuthenticator authenticator, IOptions<AgentScopeServerOptions> options, ILogger<StartupSweep> logger)
    {
        _authenticator = authenticator;
        _options = options.Value;
        _logger = logger;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.SweepOnStart)
        {
            return;
        }

        try
        {
            var report = await _authenticator.LocalAdmin(new AccessContext { Surface = "server-start" })
                .SweepAsync(dryRun: false, cancellationToken).ConfigureAwait(false);
            LogSwept(_logger, report.OrphansFound, report.Deleted, report.RevokesFinished.Count);
        }
        catch (AgentScopeException e)
        {
            LogSweepFailed(_logger, e.Code, e.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "start-up sweep: {Orphans} orphaned entries found, {Deleted} deleted, {Finished} interrupted revokes finished")]
    private static partial void LogSwept(ILogger logger, int orphans, int deleted, int finished);

    [LoggerMessage(Level = LogLevel.Warning, Message = "start-up sweep failed ({Code}): {Reason}; run 'agentscope sweep' or POST /v0/sweep later")]
    private static partial void LogSweepFailed(ILogger logger, string code, string reason);
}
