using AgentScope.Audit;
using AgentScope.Providers.Local;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Benchmarks;

/// <summary>The whole stack on the embedded store: AgentVault over SQLite with the hash-chained audit file.</summary>
[MemoryDiagnoser]
public class LocalStoreBenchmarks
{
    private string _dir = null!;
    private ServiceProvider _services = null!;
    private LocalSecretBackend _backend = null!;
    private JsonLinesAuditSink _sink = null!;
    private AgentVault _vault = null!;
    private readonly SecretValue _value = new("sk_live_0123456789abcdef0123456789abcdef");
    private int _n;

    [GlobalSetup]
    public async Task Setup()
    {
        _dir = Directory.CreateTempSubdirectory("agentscope-bench-").FullName;
        _backend = new LocalSecretBackend(new LocalStoreOptions { Path = Path.Combine(_dir, "store.db") });
        _sink = new JsonLinesAuditSink(new JsonLinesAuditOptions { Path = Path.Combine(_dir, "audit", "audit.jsonl") });
        _services = BenchHost.Build(_backend, _sink);
        _vault = await BenchHost.NewAgentAsync(_services, "bench");
        await _vault.StoreAsync("stripe-key", _value);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _services.Dispose();
        _backend.Dispose();
        _sink.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark]
    public Task<SecretEntry> Get() => _vault.GetAsync("stripe-key");

    [Benchmark]
    public Task<StoreResult> PutNewLabel() => _vault.StoreAsync("label-" + _n++, _value);

    [Benchmark]
    public Task<StoreResult> Overwrite() => _vault.StoreAsync("stripe-key", _value);
}
