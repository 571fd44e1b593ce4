using AgentScope.Audit;
using AgentScope.Backends;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Benchmarks;

/// <summary>What <see cref="AgentVault.GetAsync"/> adds over a raw backend read: policy, identity check, audit call (null sink).</summary>
[MemoryDiagnoser]
public class VaultOverheadBenchmarks
{
    private readonly InMemorySecretBackend _backend = new();
    private ServiceProvider _services = null!;
    private AgentVault _vault = null!;
    private EntryKey _key;

    [GlobalSetup]
    public async Task Setup()
    {
        _services = BenchHost.Build(_backend, NullAuditSink.Instance);
        _vault = await BenchHost.NewAgentAsync(_services, "bench");
        await _vault.StoreAsync("stripe-key", new SecretValue("sk_live_0123456789abcdef0123456789"));
        _key = new EntryKey("bench", "stripe-key");
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark(Baseline = true)]
    public ValueTask<BackendEntry?> RawBackendGet() => _backend.GetAsync(_key);

    [Benchmark]
    public Task<SecretEntry> VaultGet() => _vault.GetAsync("stripe-key");
}
