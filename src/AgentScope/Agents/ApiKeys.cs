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

        if (token.StartsWith(AdminPrefix, StringComparison.Ordinal))
        {
            var parts = token[AdminPrefix.Length..].Split('_', 2);
            if (parts.Length == 2 && IsKeyId(parts[0]) && parts[1].Length > 0)
            {
                parsed = new Parsed(true, null, parts[0], parts[1]);
                return true;
            }
        }
        else if (token.StartsWith(AgentPrefix, StringComparison.Ordinal))
        {
            var parts = token[AgentPrefix.Length..].Split('_', 3);
            if (parts.Length == 3 && Names.IsValidAgentId(parts[0]) && IsKeyId(parts[1]) && parts[2].Length > 0)
            {
                parsed = new Parsed(false, parts[0], parts[1], parts[2]);
                return true;
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
                Span<byte> actual = stackalloc byte[32];
                Span<byte> expected = stackalloc byte[32];
                SHA256.HashData(Encoding.UTF8.GetBytes(key.Secret), actual);
                var ok = Convert.TryFromBase64String(record.Hash, expected, out var n) && n == 32 &&
                         CryptographicOperations.FixedTimeEquals(actual, expected);
                return ok && (record.ExpiresAt is not { } exp || exp > now);
            }
        }

        return false;
    }

    public static string Hash(string secret) => Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static bool IsKeyId(string s) => s.Length == 12 && s.All(char.IsAsciiHexDigitLower);

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '-');
}
