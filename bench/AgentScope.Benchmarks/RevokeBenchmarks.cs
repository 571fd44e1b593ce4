using AgentScope.Audit;
using AgentScope.Providers.Local;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Benchmarks;

/// <summary>Revoke of an agent holding 10,000 entries on the Local store (cascade delete, verify, mark revoked).</summary>
[SimpleJob(RunStrategy.Monitoring, warmupCount: 1, iterationCount: 5)]
public class RevokeBenchmarks
{
    private const int Entries = 10_000;
    private string _dir = null!;
    private LocalSecretBackend _backend = null!;
    private ServiceProvider _services = null!;
    private AgentAdmin _admin = null!;
    private int _round;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("agentscope-bench-revoke-").FullName;
        _backend = new LocalSecretBackend(new LocalStoreOptions { Path = Path.Combine(_dir, "store.db") });
        _services = BenchHost.Build(_backend, new JsonLinesAuditSink(new JsonLinesAuditOptions { Path = Path.Combine(_dir, "audit.jsonl") }));
        _admin = _services.GetRequiredService<AgentScopeAuthenticator>().LocalAdmin();
    }

    [IterationSetup]
    public void FillAgent()
    {
        _round++;
        var vault = BenchHost.NewAgentAsync(_services, $"agent-{_round}").GetAwaiter().GetResult();
        var value = new SecretValue("v-0123456789abcdef");
        Parallel.For(0, Entries, new ParallelOptions { MaxDegreeOfParallelism = 4 },
            i => vault.StoreAsync($"label-{i}", value).GetAwaiter().GetResult());
    }

    [Benchmark]
    public Task<int> Revoke10000() => _admin.RevokeAsync($"agent-{_round}");

    [GlobalCleanup]
    public void Cleanup()
    {
        _services.Dispose();
        _backend.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
