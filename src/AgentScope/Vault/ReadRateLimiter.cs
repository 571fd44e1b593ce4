using System.Collections.Concurrent;

namespace AgentScope;

/// <summary>
/// The per-rule <c>readsPerMinute</c> limit: a fixed one-minute window per (agent, rule), kept in process memory.
/// Each replica counts on its own, so a fleet of N replicas allows up to N times the rate; the README says so.
/// </summary>
internal sealed class ReadRateLimiter
{
    private readonly ConcurrentDictionary<(string Agent, int Rule), Window> _windows = new();
    private readonly TimeProvider _time;

    public ReadRateLimiter(TimeProvider time) => _time = time;

    private sealed class Window
    {
        public long Minute;
        public int Count;
    }

    /// <summary>Counts one read; returns the wait until the next window when the limit is exceeded.</summary>
    public TimeSpan? TryAcquire(string agentId, int rule, int perMinute)
    {
        var now = _time.GetUtcNow();
        var minute = now.ToUnixTimeSeconds() / 60;
        var w = _windows.GetOrAdd((agentId, rule), _ => new Window());
        lock (w)
        {
            if (w.Minute != minute)
            {
                w.Minute = minute;
                w.Count = 0;
            }

            if (w.Count >= perMinute)
            {
                return TimeSpan.FromSeconds(60 - (now.ToUnixTimeSeconds() % 60));
            }

            w.Count++;
            return null;
        }
    }
}
