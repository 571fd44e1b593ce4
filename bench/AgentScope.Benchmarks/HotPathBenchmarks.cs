using System.Security.Cryptography;
using System.Text;
using AgentScope.Agents;
using AgentScope.Audit;
using AgentScope.Backends;
using AgentScope.Crypto;
using AgentScope.Providers.Local;
using BenchmarkDotNet.Attributes;

namespace AgentScope.Benchmarks;

/// <summary>
/// The per-request costs of <c>GET /v0/vault/{label}</c> other than HTTP, one by one: decrypting a 40-byte value,
/// verifying the API key, appending one audit record (one writer, so no group commit to share the cost) and reading
/// the entry from the Local store.
/// </summary>
[MemoryDiagnoser]
public class HotPathBenchmarks
{
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;
    private byte[] _dataKey = null!;
    private byte[] _stored = null!;
    private DataKeyCipher _cipher = null!;
    private string _token = null!;
    private List<ApiKeyRecord> _records = null!;
    private AgentSession _session = null!;
    private string? _dir;
    private JsonLinesAuditSink _sink = null!;
    private LocalSecretBackend _store = null!;
    private readonly EntryKey _key = new("bench", "bench-secret");
    private AuditEvent _event = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _dataKey = RandomNumberGenerator.GetBytes(32);
        _cipher = new DataKeyCipher(_dataKey);
        _stored = _cipher.Encrypt("bench", "bench-secret", 1, Encoding.UTF8.GetBytes("sk_live_0123456789abcdefghijklmnopqrstuv"));
        var (token, record) = ApiKeys.NewAgentKey("bench", _now);
        _token = token;
        _records = [record];
        _session = new AgentSession(new AgentRecord { Id = "bench", Keys = _records }, new PolicyEvaluator(AgentPolicy.FullControl()), null, _now);
        _dir = Directory.CreateTempSubdirectory("agentscope-bench-hotpath-").FullName;
        _sink = new JsonLinesAuditSink(new JsonLinesAuditOptions { Path = Path.Combine(_dir, "audit.jsonl") });
        _store = new LocalSecretBackend(new LocalStoreOptions { Path = Path.Combine(_dir, "store.db") });
        await _store.PutAsync(new BackendEntry(new EntryMetadata(_key, SecretKind.Generic, 1, _now, _now, null, true), _stored));
        _event = new AuditEvent
        {
            Time = _now,
            Actor = "agent:bench",
            Action = AuditActions.Read,
            AgentId = "bench",
            Label = "bench-secret",
            Outcome = AuditOutcomes.Ok,
            RequestId = "0HNB4JGDQ5V8K:00000001",
            Detail = "rest",
        };
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cipher.Dispose();
        _sink.Dispose();
        _store.Dispose();
        if (_dir is not null)
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>A new AesGcm (OpenSSL context, key schedule) per value, as every read did before DataKeyCipher.</summary>
    [Benchmark]
    public byte[] DecryptNewAesGcm()
    {
        using var aes = new AesGcm(_dataKey, EntryCipher.TagSize);
        return EntryCipher.Decrypt(aes, "bench", "bench-secret", 1, _stored);
    }

    /// <summary>An AesGcm lent by the agent session's <see cref="DataKeyCipher"/>.</summary>
    [Benchmark]
    public byte[] DecryptPooledAesGcm() => _cipher.Decrypt("bench", "bench-secret", 1, _stored);

    /// <summary>Parse, SHA-256 of the secret, constant-time compare with the stored hash: every request before the session remembered keys.</summary>
    [Benchmark]
    public bool VerifyApiKey() => ApiKeys.TryParse(_token, out var parsed) && ApiKeys.Verify(parsed, _records, _now);

    /// <summary>Parse, constant-time compare with the secret the identity session verified before.</summary>
    [Benchmark]
    public bool VerifyApiKeyRemembered() => ApiKeys.TryParse(_token, out var parsed) && _session.Verify(parsed, _now);

    [Benchmark]
    public ValueTask AppendAuditRecord() => _sink.WriteAsync(_event);

    /// <summary>One point read of the Local store (SQLite, WAL), as every GET does.</summary>
    [Benchmark]
    public ValueTask<BackendEntry?> LocalStoreGet() => _store.GetAsync(_key);
}
