namespace AgentScope.Testing.Emulators.AzureKeyVault;

/// <summary>
/// Switches for the failures a real vault produces: throttling (429 + Retry-After), 5xx, 403 for a missing RBAC data
/// action, latency, and a request-rate limit (Key Vault throttles per vault in windows; here, per second).
/// </summary>
public sealed class KeyVaultFaults
{
    private readonly object _gate = new();
    private readonly List<Rule> _rules = [];
    private readonly HashSet<string> _forbidden = new(StringComparer.OrdinalIgnoreCase);
    private long _windowSecond;
    private int _windowCount;

    /// <summary>Added before every request is handled.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>When set, requests beyond this many per second are answered 429 with Retry-After: 1.</summary>
    public int? RequestsPerSecond { get; set; }

    /// <summary>How many requests were refused by the rate limit.</summary>
    public int Throttled { get; private set; }

    /// <summary>The next <paramref name="count"/> requests that match <paramref name="when"/> (all, if null) fail with <paramref name="status"/>.</summary>
    public void FailNext(int count, int status, int? retryAfterSeconds = null, Func<EmulatedRequest, bool>? when = null)
    {
        lock (_gate)
        {
            _rules.Add(new Rule(count, status, retryAfterSeconds, when ?? (_ => true)));
        }
    }

    /// <summary>Requests needing <paramref name="dataAction"/> are answered 403, as without that RBAC data action.</summary>
    public void Forbid(string dataAction)
    {
        lock (_gate)
        {
            _forbidden.Add(dataAction);
        }
    }

    /// <summary>Drops every rule, forbidden action and limit.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _rules.Clear();
            _forbidden.Clear();
            RequestsPerSecond = null;
        }
    }

    internal bool IsForbidden(string dataAction)
    {
        lock (_gate)
        {
            return _forbidden.Contains(dataAction);
        }
    }

    internal bool TryTakeFault(EmulatedRequest request, out (int Status, int? RetryAfterSeconds) fault)
    {
        lock (_gate)
        {
            if (RequestsPerSecond is { } limit)
            {
                var second = Environment.TickCount64 / 1000;
                if (second != _windowSecond)
                {
                    _windowSecond = second;
                    _windowCount = 0;
                }

                if (++_windowCount > limit)
                {
                    Throttled++;
                    fault = (429, 1);
                    return true;
                }
            }

            foreach (var rule in _rules)
            {
                if (rule.Remaining > 0 && rule.When(request))
                {
                    rule.Remaining--;
                    fault = (rule.Status, rule.RetryAfterSeconds);
                    return true;
                }
            }

            fault = default;
            return false;
        }
    }

    private sealed class Rule(int count, int status, int? retryAfterSeconds, Func<EmulatedRequest, bool> when)
    {
        public int Remaining { get; set; } = count;
        public int Status { get; } = status;
        public int? RetryAfterSeconds { get; } = retryAfterSeconds;
        public Func<EmulatedRequest, bool> When { get; } = when;
    }
}
