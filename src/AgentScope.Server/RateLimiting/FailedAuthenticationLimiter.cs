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
    // An address can only be blocked within a window of its failures, so while no failure happened for two windows
    // (the window, plus slack for when the limiter replenishes), nobody is blocked and the per-request probe (a
    // partition lookup under a lock, and formatting the address) is skipped.
    private static readonly long QuietMs = (long)TimeSpan.FromMinutes(2).TotalMilliseconds;

    private readonly PartitionedRateLimiter<string>? _limiter;
    private long _lastFailureMs = long.MinValue / 2;

    public FailedAuthenticationLimiter(IOptions<AgentScopeServerOptions> options)
    {
        var limit = options.Value.FailedAuthenticationsPerMinute;
        if (limit > 0)
        {
            _limiter = PartitionedRateLimiter.Create<string, string>(client => RateLimitPartition.GetFixedWindowLimiter(client,
                _ => new FixedWindowRateLimiterOptions { PermitLimit = limit, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
        }
    }

    /// <summary>False when no address can be blocked now (no failures lately): <see cref="BlockedFor"/> would return null.</summary>
    public bool MayBlock => _limiter is not null && Environment.TickCount64 - Volatile.Read(ref _lastFailureMs) < QuietMs;

    /// <summary>How long the address must wait, or null when it may try.</summary>
    public TimeSpan? BlockedFor(string client)
    {
        if (_limiter is null || !MayBlock)
        {
            return null;
        }

        using var probe = _limiter.AttemptAcquire(client, 0);
        return probe.IsAcquired ? null : RetryAfter(probe);
    }

    /// <summary>Counts one failure of the address.</summary>
    public void RecordFailure(string client)
    {
        Volatile.Write(ref _lastFailureMs, Environment.TickCount64);
        using var lease = _limiter?.AttemptAcquire(client, 1);
    }

    public void Dispose() => _limiter?.Dispose();

    internal static TimeSpan RetryAfter(RateLimitLease lease) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
}
