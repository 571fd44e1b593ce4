using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using AgentScope.Backends;
using AgentScope.Crypto;
using Microsoft.Extensions.Options;

namespace AgentScope.Agents;

/// <summary>
/// Agent identities and admin keys, stored as JSON records in the backend's reserved registry namespace,
/// with a short-TTL cache of prepared sessions. Revocation on this process invalidates the cache at once;
/// other replicas see it within <see cref="AgentScopeOptions.IdentityCacheTtl"/>.
/// </summary>
internal sealed class AgentRegistry
{
    private readonly ISecretBackend _backend;
    private readonly MasterKey _masterKey;
    private readonly TimeProvider _time;
    private readonly TimeSpan _ttl;
    private readonly ConcurrentDictionary<string, AgentSession> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    public AgentRegistry(ISecretBackend backend, MasterKey masterKey, IOptions<AgentScopeOptions> options, TimeProvider time)
    {
        _backend = backend;
        _masterKey = masterKey;
        _time = time;
        _ttl = options.Value.IdentityCacheTtl;
    }

    public ISecretBackend Backend => _backend;

    public MasterKey MasterKey => _masterKey;

    public async ValueTask<AgentRecord?> GetRecordAsync(string agentId, CancellationToken ct) =>
        await ReadAsync(AgentRecord.RegistryLabel(agentId), RegistryJson.Default.AgentRecord, ct).ConfigureAwait(false);

    /// <summary>A prepared session for the agent, from cache when fresh enough; null when the agent does not exist.</summary>
    public async ValueTask<AgentSession?> GetSessionAsync(string agentId, CancellationToken ct, bool fresh = false)
    {
        var now = _time.GetUtcNow();
        if (!fresh && _cache.TryGetValue(agentId, out var cached) && now - cached.LoadedAt < _ttl)
        {
            return cached;
        }

        var record = await GetRecordAsync(agentId, ct).ConfigureAwait(false);
        if (record is null)
        {
            Invalidate(agentId);
            return null;
        }

        var dataKey = record.Status == AgentStatus.Active && record.WrappedDataKey is { } w ? _masterKey.Unwrap(w, record.Id) : null;
        var session = new AgentSession(record, new PolicyEvaluator(record.Policy), dataKey, now);
        if (_ttl > TimeSpan.Zero)
        {
            Cache(agentId, session);
        }

        return session;
    }

    // Replaces the cached session, retiring the one it replaces. (A session overwritten by a concurrent refresh is not
    // retired, only left to the garbage collector: retiring is tidiness, never needed for correctness.)
    private void Cache(string agentId, AgentSession session)
    {
        while (true)
        {
            if (_cache.TryGetValue(agentId, out var old))
            {
                if (_cache.TryUpdate(agentId, session, old))
                {
                    old.Retire();
                    return;
                }
            }
            else if (_cache.TryAdd(agentId, session))
            {
                return;
            }
        }
    }

    public async ValueTask SaveAsync(AgentRecord record, CancellationToken ct)
    {
        await WriteAsync(AgentRecord.RegistryLabel(record.Id), record, RegistryJson.Default.AgentRecord, ct).ConfigureAwait(false);
        Invalidate(record.Id);
    }

    public async IAsyncEnumerable<AgentRecord> ListRecordsAsync([EnumeratorCancellation] CancellationToken ct)
    {
        var labels = new List<string>();
        await foreach (var m in _backend.ListAsync(EntryKey.RegistryNamespace, ct).ConfigureAwait(false))
        {
            if (m.Key.Label.StartsWith("agent.", StringComparison.Ordinal))
            {
                labels.Add(m.Key.Label);
            }
        }

        foreach (var label in labels.Order(StringComparer.Ordinal))
        {
            if (await ReadAsync(label, RegistryJson.Default.AgentRecord, ct).ConfigureAwait(false) is { } record)
            {
                yield return record;
            }
        }
    }

    public async ValueTask<AdminKeysRecord?> GetAdminKeysAsync(CancellationToken ct) =>
        await ReadAsync(AdminKeysRecord.RegistryLabel, RegistryJson.Default.AdminKeysRecord, ct).ConfigureAwait(false);

    public ValueTask SaveAdminKeysAsync(AdminKeysRecord record, CancellationToken ct) =>
        WriteAsync(AdminKeysRecord.RegistryLabel, record, RegistryJson.Default.AdminKeysRecord, ct);

    public void Invalidate(string agentId)
    {
        if (_cache.TryRemove(agentId, out var old))
        {
            old.Retire();
        }
    }

    /// <summary>
    /// Serialises read-modify-write of one agent's record in this process, so overlapping admin operations (a revoke and a
    /// policy change or key rotation, two creates of one id) cannot write back a copy read before the other's write.
    /// Other replicas are not covered: the backend contract has no compare-and-swap.
    /// </summary>
    public ValueTask<IDisposable> LockAgentAsync(string agentId, CancellationToken ct) => LockAsync(AgentRecord.RegistryLabel(agentId), ct);

    /// <summary>Serialises read-modify-write of the admin keys record in this process.</summary>
    public ValueTask<IDisposable> LockAdminKeysAsync(CancellationToken ct) => LockAsync(AdminKeysRecord.RegistryLabel, ct);

    private async ValueTask<IDisposable> LockAsync(string label, CancellationToken ct)
    {
        var gate = _locks.GetOrAdd(label, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct).ConfigureAwait(false);
        return new Releaser(gate);
    }

    private sealed class Releaser(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }
        }
    }

    private async ValueTask<T?> ReadAsync<T>(string label, JsonTypeInfo<T> type, CancellationToken ct) where T : class
    {
        var entry = await _backend.GetAsync(new EntryKey(EntryKey.RegistryNamespace, label), ct).ConfigureAwait(false);
        if (entry is null)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(entry.Value, type);
        }
        catch (JsonException e)
        {
            throw new AgentScopeException(ErrorKind.BackendUnavailable, $"registry record '{label}' is unreadable", e);
        }
    }

    private async ValueTask WriteAsync<T>(string label, T value, JsonTypeInfo<T> type, CancellationToken ct)
    {
        var existing = await _backend.GetAsync(new EntryKey(EntryKey.RegistryNamespace, label), ct).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var meta = new EntryMetadata(new EntryKey(EntryKey.RegistryNamespace, label), SecretKind.Registry,
            (existing?.Metadata.Version ?? 0) + 1, existing?.Metadata.CreatedAt ?? now, now, null, Encrypted: false);
        await _backend.PutAsync(new BackendEntry(meta, JsonSerializer.SerializeToUtf8Bytes(value, type)), ct).ConfigureAwait(false);
    }
}
