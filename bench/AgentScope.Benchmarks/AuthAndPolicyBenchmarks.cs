using AgentScope.Agents;
using BenchmarkDotNet.Attributes;

namespace AgentScope.Benchmarks;

/// <summary>API key verification (parse, SHA-256, constant-time compare) and policy evaluation over 100 rules.</summary>
[MemoryDiagnoser]
public class AuthAndPolicyBenchmarks
{
    private string _token = null!;
    private List<ApiKeyRecord> _records = null!;
    private PolicyEvaluator _policy = null!;
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;

    [GlobalSetup]
    public void Setup()
    {
        var (token, record) = ApiKeys.NewAgentKey("support-bot", _now);
        var (_, other) = ApiKeys.NewAgentKey("support-bot", _now);
        _token = token;
        _records = [other, record];
        var rules = Enumerable.Range(0, 99)
            .Select(i => new PolicyRule { Labels = $"service-{i}-*", Operations = ["read", "list"] })
            .Append(new PolicyRule { Labels = "stripe-*", Operations = ["read"] })
            .ToList();
        _policy = new PolicyEvaluator(new AgentPolicy { Rules = rules });
    }

    [Benchmark]
    public bool VerifyApiKey() => ApiKeys.TryParse(_token, out var parsed) && ApiKeys.Verify(parsed, _records, _now);

    [Benchmark]
    public bool EvaluatePolicy100Rules() => _policy.Evaluate(VaultOperations.Read, "stripe-refund", _now).Allowed;
}
