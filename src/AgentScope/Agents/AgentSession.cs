using System.Runtime.InteropServices;
using System.Security.Cryptography;
using AgentScope.Crypto;

namespace AgentScope.Agents;

/// <summary>An agent identity loaded and prepared for use: compiled policy and unwrapped data key. Cached for a short TTL.</summary>
internal sealed class AgentSession
{
    public AgentSession(AgentRecord record, PolicyEvaluator policy, byte[]? dataKey, DateTimeOffset loadedAt)
    {
        Record = record;
        Policy = policy;
        Cipher = dataKey is null ? null : new DataKeyCipher(dataKey);
        LoadedAt = loadedAt;
        _verifiedSecrets = new string?[record.Keys.Count];
    }

    // The secret part of each key of Record.Keys (same index) once a request has presented it and its hash matched; null
    // until then. A later request with the same key is checked by a constant-time comparison with it instead of hashing
    // the secret again (SHA-256 through OpenSSL, plus decoding the stored hash: most of a microsecond per request). It
    // lives only in this process's memory and only as long as the session: a rotation, revocation or policy change made
    // here replaces the session at once, and other replicas drop theirs within the identity cache TTL, as before.
    private readonly string?[] _verifiedSecrets;

    public AgentRecord Record { get; }
    public string AgentId => Record.Id;
    public PolicyEvaluator Policy { get; }

    /// <summary>The agent's data key, for its entries; null once revoked.</summary>
    public DataKeyCipher? Cipher { get; }

    public DateTimeOffset LoadedAt { get; }
    public bool IsActive => Record.Status == AgentStatus.Active;

    /// <summary>True when <paramref name="key"/> is one of this agent's keys, unexpired, and its secret matches (see <see cref="ApiKeys.Verify(in ApiKeys.Parsed, ApiKeyRecord, DateTimeOffset)"/>).</summary>
    public bool Verify(in ApiKeys.Parsed key, DateTimeOffset now)
    {
        var keys = Record.Keys;
        for (var i = 0; i < keys.Count; i++)
        {
            var record = keys[i];
            if (record.KeyId != key.KeyId)
            {
                continue;
            }

            if (Volatile.Read(ref _verifiedSecrets[i]) is { } verified && SameSecret(verified, key.Secret))
            {
                return record.ExpiresAt is not { } expires || expires > now;
            }

            if (!ApiKeys.Verify(key, record, now))
            {
                return false;
            }

            Volatile.Write(ref _verifiedSecrets[i], key.Secret);
            return true;
        }

        return false;
    }

    /// <summary>True while the key <paramref name="keyId"/> is one of this agent's keys and unexpired.</summary>
    public bool HasLiveKey(string keyId, DateTimeOffset now)
    {
        foreach (var record in Record.Keys)
        {
            if (record.KeyId == keyId)
            {
                return record.ExpiresAt is not { } expires || expires > now;
            }
        }

        return false;
    }

    // Constant-time in the content; only the lengths (public: every secret has the same) may end it early.
    private static bool SameSecret(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(a.AsSpan()), MemoryMarshal.AsBytes(b.AsSpan()));

    /// <summary>
    /// The cache dropped this session: release what it holds natively. Calls still using it keep working; they are
    /// only slower, so a race between a call and the cache replacing the session is harmless.
    /// </summary>
    public void Retire() => Cipher?.Dispose();
}
