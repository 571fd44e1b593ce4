using AgentScope.Audit;
using AgentScope.Audit.PostgreSql;
using AgentScope.Audit.PostgreSql.Tests;
using AgentScope.Backends;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Microsoft.Extensions.DependencyInjection;

namespace AgentScope.Benchmarks;

/// <summary>
/// Audited reads through the core (<see cref="AgentVault.GetAsync"/>, every one audited) with each audit sink, in the
/// same run: 32 concurrent callers, as a server under load would have. The backend is in memory, so the audit sink is
/// what differs. PostgreSQL: the server named by <c>AGENTSCOPE_BENCH_POSTGRES</c> (an Npgsql connection string), or else
/// a throwaway PostgreSQL 15 started here like the tests' fixture, with its durability settings left at the defaults
/// (fsync on, synchronous commit), so every read returns only after its audit row is on disk.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class AuditSinkBenchmarks
{
    private const int Callers = 32;
    private const int PerCaller = 50;

    private string? _dir;
    private PostgresServer? _server;
    private IAuditSink _sink = null!;
    private ServiceProvider _services = null!;
    private AgentVault _vault = null!;

    /// <summary>
    /// File: the JSON-lines sink as configured by default (written to the OS, not flushed); FileDurable: flushed per
    /// record; PostgreSql: group commit, each read returning once its row is flushed on the database server (default);
    /// PostgreSqlAsyncCommit: group commit with <c>AsynchronousCommit</c> (committed, not yet flushed: the durability of
    /// the file sink's default).
    /// </summary>
    [Params("File", "FileDurable", "PostgreSql", "PostgreSqlAsyncCommit")]
    public string Sink { get; set; } = "File";

    [GlobalSetup]
    public async Task Setup()
    {
        switch (Sink)
        {
            case "PostgreSql" or "PostgreSqlAsyncCommit":
                var connectionString = Environment.GetEnvironmentVariable("AGENTSCOPE_BENCH_POSTGRES");
                if (string.IsNullOrEmpty(connectionString))
                {
                    _server = await PostgresServer.StartAsync(durable: true);
                    connectionString = _server.ConnectionString;
                }

                var pg = new PostgreSqlAuditSink(new PostgreSqlAuditOptions
                {
                    ConnectionString = connectionString,
                    Schema = "bench_" + Guid.NewGuid().ToString("N")[..8],
                    AsynchronousCommit = Sink == "PostgreSqlAsyncCommit",
                });
                await pg.InitializeAsync();
                _sink = pg;
                break;
            default:
                _dir = Directory.CreateTempSubdirectory("agentscope-bench-audit-").FullName;
                _sink = new JsonLinesAuditSink(new JsonLinesAuditOptions { Path = Path.Combine(_dir, "audit.jsonl"), Durable = Sink == "FileDurable" });
                break;
        }

        _services = BenchHost.Build(new InMemorySecretBackend(), _sink);
        _vault = await BenchHost.NewAgentAsync(_services, "bench");
        await _vault.StoreAsync("stripe-key", new SecretValue("sk_live_0123456789abcdef0123456789"));
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _services.DisposeAsync();
        switch (_sink)
        {
            case IAsyncDisposable d:
                await d.DisposeAsync();
                break;
            case IDisposable d:
                d.Dispose();
                break;
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_dir is not null)
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>32 callers each reading 50 times; reported per read.</summary>
    [Benchmark(OperationsPerInvoke = Callers * PerCaller)]
    public Task ConcurrentAuditedGet() => Task.WhenAll(Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
    {
        for (var i = 0; i < PerCaller; i++)
        {
            await _vault.GetAsync("stripe-key");
        }
    })));

    /// <summary>One caller at a time: the latency of one audited read (no batching to share a commit with).</summary>
    [Benchmark]
    public Task<SecretEntry> SequentialAuditedGet() => _vault.GetAsync("stripe-key");
}
