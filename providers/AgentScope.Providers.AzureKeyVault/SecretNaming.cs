using System.Security.Cryptography;
using System.Text;
using AgentScope.Backends;

namespace AgentScope.Providers.AzureKeyVault;

/// <summary>
/// Maps a logical coordinate (namespace, label) to a Key Vault secret name. Key Vault names are 1-127 of
/// <c>[0-9a-zA-Z-]</c> and case-insensitive, while labels are case-sensitive and may hold '.' and '_', so the name is
/// <c>&lt;prefix&gt;-&lt;base32 of SHA-256(UTF-8(namespace) 0x00 UTF-8(label))&gt;</c>: all 256 bits of the hash, in
/// lowercase RFC 4648 base32 without padding (52 characters), so case folding by the service cannot merge two names.
/// Namespaces cannot contain NUL, so the hash input is unambiguous. The coordinate itself is kept in tags.
/// </summary>
internal static class SecretNaming
{
    /// <summary>The longest name Key Vault accepts.</summary>
    public const int MaxNameLength = 127;

    /// <summary>Characters of the hash part: ceil(256 / 5).</summary>
    public const int HashLength = 52;

    /// <summary>The longest prefix that still leaves room for '-' and the hash.</summary>
    public const int MaxPrefixLength = MaxNameLength - 1 - HashLength;

    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary>The secret name of <paramref name="key"/> under <paramref name="prefix"/> (already validated).</summary>
    public static string NameOf(string prefix, EntryKey key)
    {
        var ns = Encoding.UTF8.GetBytes(key.Namespace);
        var label = Encoding.UTF8.GetBytes(key.Label);
        var input = new byte[ns.Length + 1 + label.Length];
        ns.CopyTo(input, 0);
        label.CopyTo(input, ns.Length + 1);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(input, hash);
        return string.Concat(prefix.ToLowerInvariant(), "-", Base32(hash));
    }

    /// <summary>True when <paramref name="prefix"/> is 1-<see cref="MaxPrefixLength"/> ASCII letters, digits or '-'.</summary>
    public static bool IsValidPrefix(string? prefix) =>
        !string.IsNullOrEmpty(prefix) && prefix.Length <= MaxPrefixLength && prefix.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

    /// <summary>True when <paramref name="name"/> is a name Key Vault accepts: <c>^[0-9a-zA-Z-]{1,127}$</c>.</summary>
    public static bool IsValidSecretName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= MaxNameLength && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

    private static string Base32(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[(bytes.Length * 8 + 4) / 5];
        int buffer = 0, bits = 0, at = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                chars[at++] = Alphabet[(buffer >> (bits - 5)) & 31];
                bits -= 5;
            }
        }

        if (bits > 0)
        {
            chars[at++] = Alphabet[(buffer << (5 - bits)) & 31];
        }

        return new string(chars, 0, at);
    }
}
