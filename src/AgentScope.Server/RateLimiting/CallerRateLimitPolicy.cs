using System.Threading.RateLimiting;
using AgentScope.Server.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace AgentScope.Server.RateLimiting;

/// <summary>The names of the server's rate-limiting policies (ASP.NET Core's rate limiter).</summary>
internal static class RateLimitPolicies
{
    public const string Agent = "agentscope.agent";
    public const string Admin = "agentscope.admin";
}

/// <summary>
/// A fixed one-minute window per authenticated caller. It runs after <see cref="AgentScopeMiddleware"/> authenticated
/// the key, so a caller cannot spend another agent's quota by naming it in a forged key.
/// </summary>
internal abstract class CallerRateLimitPolicy : IRateLimiterPolicy<string>
{
    private readonly int _perMinute;

    // Made once rather than per request (GetPartition runs on every request; the limiter copies the options it is given).
    private readonly Func<string, FixedWindowRateLimiterOptions> _options;

    protected CallerRateLimitPolicy(int perMinute)
    {
        _perMinute = perMinute;
        var options = new FixedWindowRateLimiterOptions { PermitLimit = Math.Max(perMinute, 1), Window = TimeSpan.FromMinutes(1), QueueLimit = 0 };
        _options = _ => options;
    }

    public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected { get; } = RejectAsync;

    public RateLimitPartition<string> GetPartition(HttpContext httpContext)
    {
        var key = PartitionKey(httpContext);
        return _perMinute == 0 ? RateLimitPartition.GetNoLimiter(key) : RateLimitPartition.GetFixedWindowLimiter(key, _options);
    }

    protected abstract string PartitionKey(HttpContext context);

    private static async ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var wait = FailedAuthenticationLimiter.RetryAfter(rejected.Lease);
        await ErrorWriter.WriteAsync(rejected.HttpContext, StatusCodes.Status429TooManyRequests, ErrorCodes.Code(ErrorKind.RateLimited),
            $"too many requests; retry in {Math.Ceiling(wait.TotalSeconds)} s", wait).ConfigureAwait(false);
    }
}

/// <summary><see cref="AgentScopeServerOptions.AgentRequestsPerMinute"/> per agent.</summary>
internal sealed class AgentRateLimitPolicy(IOptions<AgentScopeServerOptions> options) : CallerRateLimitPolicy(options.Value.AgentRequestsPerMinute)
{
    protected override string PartitionKey(HttpContext context) => context.Features.Get<AgentVault>()?.AgentId ?? "";
}

/// <summary><see cref="AgentScopeServerOptions.AdminRequestsPerMinute"/> per admin key.</summary>
internal sealed class AdminRateLimitPolicy(IOptions<AgentScopeServerOptions> options) : CallerRateLimitPolicy(options.Value.AdminRequestsPerMinute)
{
    protected override string PartitionKey(HttpContext context) => context.Features.Get<AgentAdmin>()?.Actor ?? "";
}
