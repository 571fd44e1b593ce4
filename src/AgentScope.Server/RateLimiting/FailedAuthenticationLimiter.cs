using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace AgentScope.Server.RateLimiting;

/// <summary>
/// Counts failed authentications per client address in a fixed one-minute window
/// (<see cref="AgentScopeServerOptions.FailedAuthenticationsPerMinute"/>). Once an address reaches the limit, all its
/// requests are refused until the window ends, so a key cannot be guessed faster than that, and a valid key gains
/// nothing from the same address meanwhile.
/// </summary>
internal sealed class FailedAuthenticationLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string>? _limiter;

    public FailedAuthenticationLimiter(IOptions<AgentScopeServerOptions> options)
    {
        var limit = options.Value.FailedAuthenticationsPerMinute;
        if (limit > 0)
        {
            _limiter = PartitionedRateLimiter.Create<string, string>(client => RateLimitPartition.GetFixedWindowLimiter(client,
                _ => new FixedWindowRateLimiterOptions { PermitLimit = limit, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
        }
    }

    /// <summary>How long the address must wait, or null when it may try.</summary>
    public TimeSpan? BlockedFor(string client)
    {
        if (_limiter is null)
        {
            return null;
        }

        using var probe = _limiter.AttemptAcquire(client, 0);
        return probe.IsAcquired ? null : RetryAfter(probe);
    }

    /// <summary>Counts one failure of the address.</summary>
    public void RecordFailure(string client)
    {
        using var lease = _limiter?.AttemptAcquire(client, 1);
    }

    public void Dispose() => _limiter?.Dispose();

    internal static TimeSpan RetryAfter(RateLimitLease lease) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
}
