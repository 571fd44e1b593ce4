using System.Collections.Concurrent;

namespace AgentScope;

/// <summary>
/// The per-rule <c>readsPerMinute</c> limit: a fixed one-minute window per (agent, rule), kept in process memory.
/// A read counts against every limited rule covering its label, and is refused when any of them is spent.
/// Each replica counts on its own, so a fleet of N replicas allows up to N times the rate; the README says so.
/// </summary>
internal sealed class ReadRateLimiter
{
    private readonly ConcurrentDictionary<(string Agent, int Rule), Window> _windows = new();
    private readonly ConcurrentDictionary<string, Lock> _gates = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public ReadRateLimiter(TimeProvider time) => _time = time;

    private sealed class Window
    {
        public long Minute;
        public int Count;
    }

    /// <summary>
    /// Counts one read against every limit; when one of them is already spent, counts nothing and returns the wait until
    /// the next window and that limit.
    /// </summary>
    public (TimeSpan Wait, int PerMinute)? TryAcquire(string agentId, IReadOnlyList<ReadLimit> limits)
    {
        var now = _time.GetUtcNow();
        var minute = now.ToUnixTimeSeconds() / 60;
        var windows = new Window[limits.Count];
        for (var i = 0; i < limits.Count; i++)
        {
            windows[i] = _windows.GetOrAdd((agentId, limits[i].RuleIndex), _ => new Window());
        }

        // One gate per agent: the check of every window and the counting happen together.
        lock (_gates.GetOrAdd(agentId, _ => new Lock()))
        {
            for (var i = 0; i < windows.Length; i++)
            {
                if (windows[i].Minute != minute)
                {
                    windows[i].Minute = minute;
                    windows[i].Count = 0;
                }

                if (windows[i].Count >= limits[i].PerMinute)
                {
                    return (TimeSpan.FromSeconds(60 - (now.ToUnixTimeSeconds() % 60)), limits[i].PerMinute);
                }
            }

            foreach (var w in windows)
            {
                w.Count++;
            }

            return null;
        }
    }
}
