using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace AgentScope.Agents;

/// <summary>
/// API keys: <c>ask_&lt;agent&gt;_&lt;keyid&gt;_&lt;secret&gt;</c> for agents and <c>asa_&lt;keyid&gt;_&lt;secret&gt;</c> for administrators.
/// The prefix lets secret scanners find a leaked key; the embedded ids make lookup one registry read; only the SHA-256 of
/// the secret part is stored and compared in constant time.
/// </summary>
internal static class ApiKeys
{
    public const string AgentPrefix = "ask_";
    public const string AdminPrefix = "asa_";
    private const int SecretBytes = 32;

    public readonly record struct Parsed(bool IsAdmin, string? AgentId, string KeyId, string Secret);

    public static (string Token, ApiKeyRecord Record) NewAgentKey(string agentId, DateTimeOffset now) => New(AgentPrefix + agentId + "_", now);

    public static (string Token, ApiKeyRecord Record) NewAdminKey(DateTimeOffset now) => New(AdminPrefix, now);

    private static (string, ApiKeyRecord) New(string prefix, DateTimeOffset now)
    {
        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(SecretBytes));
        return (prefix + keyId + "_" + secret, new ApiKeyRecord(keyId, Hash(secret), now, null));
    }

    public static bool TryParse(string? token, out Parsed parsed)
    {
        parsed = default;
        if (string.IsNullOrEmpty(token) || token.Length > 256)
        {
            return false;
        }

        // Split on '_' by index rather than string.Split: this runs on every request.
        if (token.StartsWith(AdminPrefix, StringComparison.Ordinal))
        {
            var rest = token.AsSpan(AdminPrefix.Length);
            var end = rest.IndexOf('_');
            if (end >= 0 && IsKeyId(rest[..end]) && end + 1 < rest.Length)
            {
                parsed = new Parsed(true, null, rest[..end].ToString(), rest[(end + 1)..].ToString());
                return true;
            }
        }
        else if (token.StartsWith(AgentPrefix, StringComparison.Ordinal))
        {
            var rest = token.AsSpan(AgentPrefix.Length);
            var agentEnd = rest.IndexOf('_');
            var keyIdEnd = agentEnd < 0 ? -1 : rest[(agentEnd + 1)..].IndexOf('_');
            if (keyIdEnd >= 0)
            {
                var agentId = rest[..agentEnd];
                var keyId = rest.Slice(agentEnd + 1, keyIdEnd);
                var secret = rest[(agentEnd + 1 + keyIdEnd + 1)..];
                if (IsKeyId(keyId) && secret.Length > 0)
                {
                    var id = agentId.ToString();
                    if (Names.IsValidAgentId(id))
                    {
                        parsed = new Parsed(false, id, keyId.ToString(), secret.ToString());
                        return true;
                    }
                }
            }
        }

        return false;
    }

    /// <summary>True when the secret matches a live record with that key id.</summary>
    public static bool Verify(in Parsed key, IReadOnlyList<ApiKeyRecord> records, DateTimeOffset now)
    {
        foreach (var record in records)
        {
            if (record.KeyId == key.KeyId)
            {
                return Verify(key, record, now);
            }
        }

        return false;
    }

    /// <summary>True when the secret hashes to <paramref name="record"/>'s hash (compared in constant time) and the record is live.</summary>
    public static bool Verify(in Parsed key, ApiKeyRecord record, DateTimeOffset now)
    {
        Span<byte> actual = stackalloc byte[32];
        Span<byte> expected = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key.Secret), actual);
        var ok = Convert.TryFromBase64String(record.Hash, expected, out var n) && n == 32 &&
                 CryptographicOperations.FixedTimeEquals(actual, expected);
        return ok && (record.ExpiresAt is not { } exp || exp > now);
    }

    public static string Hash(string secret) => Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static readonly SearchValues<char> LowerHexDigits = SearchValues.Create("0123456789abcdef");

    private static bool IsKeyId(ReadOnlySpan<char> s) => s.Length == 12 && !s.ContainsAnyExcept(LowerHexDigits);

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '-');
}
